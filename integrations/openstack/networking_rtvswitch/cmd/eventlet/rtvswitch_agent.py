from networking_rtvswitch.agent import rtvswitch_agent


def main():
    rtvswitch_agent.main()


if __name__ == '__main__':
    main()
