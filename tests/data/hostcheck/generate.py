#!/usr/bin/env python3
"""Writes the host-check fixture trees (tuned/, untuned/, edge/, broken/, fairserver/) next to this file.

Each tree holds only the /proc and /sys files that hostcheck/ reads, modelling a
host; tests/unit/host_check_test.cpp checks every verdict on each. Rerun after editing:
    python3 tests/data/hostcheck/generate.py
"""

import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
PF_KTHREAD = 0x00200000
OTHER, FIFO = 0, 1


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def stat_line(tid, comm, state="S", kernel=False, cpu=0, prio=0, policy=OTHER):
    # Fields after "(comm)": 3 state ... 9 flags ... 39 processor, 40 rt_priority, 41 policy.
    fields = ["0"] * 50
    fields[0] = state
    fields[6] = str(PF_KTHREAD if kernel else 0x400000)
    fields[36] = str(cpu)
    fields[37] = str(prio)
    fields[38] = str(policy)
    return "%d (%s) %s\n" % (tid, comm, " ".join(fields))


def process(root, pid, comm, threads):
    """threads: list of dicts with tid, comm and stat_line()'s keyword arguments plus cpus."""
    write(root, "proc/%d/comm" % pid, comm + "\n")
    for t in threads:
        t = dict(t)
        tid = t.pop("tid", pid)
        cpus = t.pop("cpus")
        tcomm = t.pop("comm", comm)
        base = "proc/%d/task/%d/" % (pid, tid)
        write(root, base + "stat", stat_line(tid, tcomm, **t))
        write(root, base + "status",
              "Name:\t%s\nState:\tS (sleeping)\nCpus_allowed:\tff\nCpus_allowed_list:\t%s\n"
              % (tcomm, cpus))


def kthread(root, pid, comm, cpus, prio=0, policy=OTHER, state="S", cpu=0):
    process(root, pid, comm, [dict(cpus=cpus, kernel=True, prio=prio, policy=policy,
                                   state=state, cpu=cpu)])


def cpus_sys(root, online, siblings, governors, idle_states):
    write(root, "sys/devices/system/cpu/online", online + "\n")
    for cpu, sib in siblings.items():
        write(root, "sys/devices/system/cpu/cpu%d/topology/thread_siblings_list" % cpu, sib + "\n")
    for cpu, gov in governors.items():
        write(root, "sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor" % cpu, gov + "\n")
    for cpu, states in idle_states.items():
        for i, (name, latency, disabled) in enumerate(states):
            base = "sys/devices/system/cpu/cpu%d/cpuidle/state%d/" % (cpu, i)
            write(root, base + "name", name + "\n")
            write(root, base + "latency", "%d\n" % latency)
            write(root, base + "disable", "%d\n" % disabled)


def interrupts(root, irqs, default_mask, extra_irqs=()):
    """irqs: list of (number, name, smp_affinity_list); extra_irqs have no handler."""
    lines = ["           CPU0       CPU1"]
    for n, name, aff in irqs:
        lines.append("%4d:        100          0   PCI-MSIX-0000:03:00.0   0-edge      %s"
                     % (n, name))
        write(root, "proc/irq/%d/smp_affinity_list" % n, aff + "\n")
    for n, aff in extra_irqs:
        write(root, "proc/irq/%d/smp_affinity_list" % n, aff + "\n")
    lines.append(" NMI:          0          0   Non-maskable interrupts")
    lines.append(" LOC:      49094      48755   Local timer interrupts")
    write(root, "proc/interrupts", "\n".join(lines) + "\n")
    write(root, "proc/irq/default_smp_affinity", default_mask + "\n")


def sysctl(root, **values):
    for key, value in values.items():
        write(root, "proc/sys/kernel/" + key, "%s\n" % value)


def hugepages(root, node, pages):
    """pages: {size_kb: (nr, free)}"""
    base = ("sys/devices/system/node/node%d/hugepages" % node) if node is not None \
        else "sys/kernel/mm/hugepages"
    for kb, (nr, free) in pages.items():
        write(root, "%s/hugepages-%dkB/nr_hugepages" % (base, kb), "%d\n" % nr)
        write(root, "%s/hugepages-%dkB/free_hugepages" % (base, kb), "%d\n" % free)


SWAPS_HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
CPUINFO = "processor\t: 0\nflags\t\t: fpu tsc msr %s\n\n"
SIX_SIBLINGS = {0: "0-1", 1: "0-1", 2: "2-3", 3: "2-3", 4: "4-5", 5: "4-5"}
IDLE_STATES = [("POLL", 0, 0), ("C1", 2, 0), ("C6", 133, 1)]


def tuned(root):
    """Six cores: 0-1 housekeeping, 2-3 PMD (SCHED_FIFO 50), 4-5 RT guest vCPUs (FIFO 1)."""
    write(root, "proc/cmdline", "BOOT_IMAGE=/vmlinuz-6.1.0-21-rt-amd64 root=/dev/sda1 ro "
          "isolcpus=managed_irq,domain,2-5 nohz_full=2-5 rcu_nocbs=2-5 processor.max_cstate=1 "
          "intel_pstate=disable tsc=reliable mce=off\n")
    write(root, "proc/version", "Linux version 6.1.0-21-rt-amd64 (debian-kernel@lists.debian.org)"
          " #1 SMP PREEMPT_RT Debian 6.1.90-1 (2024-05-03)\n")
    write(root, "sys/kernel/realtime", "1\n")
    cpus_sys(root, "0-5", SIX_SIBLINGS, {2: "performance", 3: "performance"},
             {2: IDLE_STATES, 3: IDLE_STATES})
    write(root, "sys/devices/system/cpu/isolated", "2-5\n")
    write(root, "sys/devices/system/cpu/nohz_full", "2-5\n")
    interrupts(root, [(24, "ttyS0", "0-1"), (35, "eth0-rx-0", "0"), (36, "eth0-tx-0", "1")], "03")
    sysctl(root, sched_rt_runtime_us=-1, sched_rt_period_us=1000000, timer_migration=0,
           watchdog=0, nmi_watchdog=0)
    process(root, 1, "systemd", [dict(cpus="0-1")])
    kthread(root, 2, "kthreadd", "0-1")
    kthread(root, 30, "ksoftirqd/2", "2", prio=51, policy=FIFO, cpu=2)
    kthread(root, 31, "rcuc/2", "2", prio=51, policy=FIFO, cpu=2)
    kthread(root, 32, "ktimers/2", "2", prio=52, policy=FIFO, cpu=2)
    kthread(root, 40, "ksoftirqd/3", "3", prio=51, policy=FIFO, cpu=3)
    kthread(root, 41, "rcuc/3", "3", prio=51, policy=FIFO, cpu=3)
    kthread(root, 50, "kworker/u12:1", "0-1")
    process(root, 500, "irqbalance", [dict(cpus="0-1")])
    write(root, "etc/default/irqbalance", "# banned for the PMDs\nIRQBALANCE_BANNED_CPULIST=2-5\n")
    # The switch itself: its PMD threads run on the PMD cores by design.
    process(root, 1000, "rtvswitch", [
        dict(cpus="0-1"),
        dict(tid=1002, comm="rtvs-pmd0", cpus="2", state="R", cpu=2, prio=50, policy=FIFO),
        dict(tid=1003, comm="rtvs-pmd1", cpus="3", state="R", cpu=3, prio=50, policy=FIFO)])
    process(root, 2000, "qemu-system-x86", [
        dict(cpus="0-1"),
        dict(tid=2001, comm="CPU 0/KVM", cpus="4", state="R", cpu=4, prio=1, policy=FIFO),
        dict(tid=2002, comm="CPU 1/KVM", cpus="5", state="R", cpu=5, prio=1, policy=FIFO)])
    # The checker itself, wherever it runs, is not "another thread on the PMD core".
    process(root, 3000, "vswitchctl", [dict(cpus="0-5", state="R", cpu=2)])
    os.symlink("3000", os.path.join(root, "proc/self"))
    write(root, "sys/kernel/mm/ksm/run", "0\n")
    write(root, "proc/swaps", SWAPS_HEADER)
    write(root, "sys/kernel/mm/transparent_hugepage/enabled", "always madvise [never]\n")
    write(root, "sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc\n")
    write(root, "sys/devices/system/clocksource/clocksource0/available_clocksource", "tsc hpet\n")
    write(root, "proc/cpuinfo", CPUINFO % "constant_tsc nonstop_tsc")
    write(root, "sys/devices/system/node/node0/cpulist", "0-5\n")
    hugepages(root, 0, {2048: (512, 512), 1048576: (4, 4)})
    write(root, "sys/bus/pci/devices/0000:03:00.0/numa_node", "0\n")


def fairserver(root):
    """The tuned host on Linux 6.12 with debugfs: the fair server is off on cpu 2, on on cpu 3."""
    tuned(root)
    write(root, "proc/version", "Linux version 6.12.9-rt-amd64 (debian-kernel@lists.debian.org)"
          " #1 SMP PREEMPT_RT Debian 6.12.9-1 (2025-01-10)\n")
    write(root, "sys/kernel/debug/sched/fair_server/cpu2/runtime", "0\n")
    write(root, "sys/kernel/debug/sched/fair_server/cpu3/runtime", "50000000\n")


def untuned(root):
    """The same six cores as installed: nothing tuned, PMD asked on core 2."""
    write(root, "proc/cmdline", "BOOT_IMAGE=/vmlinuz-6.1.0-21-amd64 root=/dev/sda1 ro quiet\n")
    write(root, "proc/version", "Linux version 6.1.0-21-amd64 (debian-kernel@lists.debian.org) "
          "(gcc-12) #1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1 (2024-05-03)\n")
    cpus_sys(root, "0-5", SIX_SIBLINGS, {2: "powersave"},
             {2: [("POLL", 0, 0), ("C1", 2, 0), ("C6", 133, 0)]})
    write(root, "sys/devices/system/cpu/isolated", "\n")  # no nohz_full file: built without it
    interrupts(root, [(24, "ttyS0", "0-5"), (35, "eth0-rx-0", "2"), (36, "eth0-tx-0", "0-5")],
               "3f")
    sysctl(root, sched_rt_runtime_us=950000, sched_rt_period_us=1000000, timer_migration=1,
           watchdog=1, nmi_watchdog=1)
    process(root, 1, "systemd", [dict(cpus="0-5")])
    kthread(root, 2, "kthreadd", "0-5")
    kthread(root, 30, "ksoftirqd/2", "2", cpu=2)
    kthread(root, 31, "kworker/2:1", "2", state="R", cpu=2)
    process(root, 400, "sshd", [dict(cpus="0-5", state="R", cpu=2)])
    process(root, 500, "irqbalance", [dict(cpus="0-5")])
    process(root, 2000, "qemu-system-x86", [
        dict(cpus="0-5"),
        dict(tid=2001, comm="CPU 0/KVM", cpus="0-5", state="R", cpu=3, prio=60, policy=FIFO)])
    write(root, "sys/kernel/mm/ksm/run", "1\n")
    write(root, "proc/swaps", SWAPS_HEADER +
          "/dev/sda2                               partition\t8388604\t\t0\t\t-2\n")
    write(root, "sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n")
    write(root, "sys/devices/system/clocksource/clocksource0/current_clocksource", "hpet\n")
    write(root, "sys/devices/system/clocksource/clocksource0/available_clocksource",
          "tsc hpet acpi_pm\n")
    write(root, "proc/cpuinfo", CPUINFO % "")
    write(root, "sys/devices/system/node/node0/cpulist", "0-2\n")
    write(root, "sys/devices/system/node/node1/cpulist", "3-5\n")
    hugepages(root, 0, {2048: (0, 0)})
    hugepages(root, 1, {2048: (1024, 1024)})
    write(root, "sys/bus/pci/devices/0000:03:00.0/numa_node", "1\n")


def edge(root):
    """Valid but unusual: isolcpus only on the command line, a cgroup v2 isolated partition,
    (null) nohz_full, odd comms, multi-word masks, no NUMA, debugfs preempt mode."""
    write(root, "proc/cmdline", "isolcpus=nohz,domain,2-3 preempt=full idle=poll -- isolcpus=0\n")
    write(root, "proc/version", "Linux version 6.6.0 #1 SMP PREEMPT_DYNAMIC\n")
    write(root, "sys/kernel/debug/sched/preempt", "none voluntary (full) lazy\n")
    cpus_sys(root, "0-5", {2: "0,2", 4: "4"}, {2: "performance"}, {})
    write(root, "sys/devices/system/cpu/nohz_full", "(null)\n")
    write(root, "sys/fs/cgroup/rt/cpuset.cpus.partition", "isolated\n")
    write(root, "sys/fs/cgroup/rt/cpuset.cpus.effective", "4\n")
    write(root, "sys/fs/cgroup/other/cpuset.cpus.partition", "member\n")
    interrupts(root, [(10, "eth0", "0-1")], "00000000,00000003", extra_irqs=[(11, "0-5")])
    sysctl(root, sched_rt_runtime_us=-1, timer_migration=0, watchdog=0)
    process(root, 1, "init", [dict(cpus="0-1")])
    process(root, 40, "weird) (name", [dict(cpus="0", comm="weird) (name")])
    write(root, "proc/41/comm", "truncated\n")
    write(root, "proc/41/task/41/stat", "41 (truncated) S 1 1\n")
    write(root, "proc/41/task/41/status", "Cpus_allowed_list:\t0-5\n")
    kthread(root, 50, "kworker/u12:1", "0-5")
    kthread(root, 30, "ksoftirqd/2", "2", prio=1, policy=FIFO, cpu=2)
    process(root, 500, "irqbalance", [dict(cpus="0-1")])
    write(root, "etc/sysconfig/irqbalance", 'IRQBALANCE_BANNED_CPUS="00000014"\n')
    process(root, 1000, "rtvswitch", [dict(tid=1001, comm="rtvs-pmd0", cpus="2", state="R",
                                           cpu=2)])
    process(root, 60, "qemu-kvm", [dict(tid=61, comm="CPU 1/KVM", cpus="5", prio=10,
                                        policy=FIFO)])
    os.symlink("99999", os.path.join(root, "proc/self"))
    write(root, "sys/kernel/mm/ksm/run", "2\n")
    write(root, "proc/swaps", SWAPS_HEADER)
    write(root, "sys/kernel/mm/transparent_hugepage/enabled", "always madvise never\n")
    write(root, "sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc\n")
    write(root, "proc/cpuinfo", CPUINFO % "")
    hugepages(root, None, {2048: (256, 100)})


def broken(root):
    """Nearly nothing readable, and garbage where something is."""
    write(root, "sys/devices/system/cpu/online", "0-x\n")
    write(root, "proc/sys/kernel/sched_rt_runtime_us", "garbage\n")
    write(root, "proc/sys/kernel/watchdog", "")
    write(root, "proc/irq/5/smp_affinity_list", "zz\n")
    write(root, "proc/swaps/.keep", "")  # a directory where a file belongs
    write(root, "proc/notapid/stat", "x\n")
    write(root, "proc/99999999999999999999999/stat", "x\n")
    write(root, "sys/kernel/mm/transparent_hugepage/enabled", "garbage\n")
    write(root, "sys/devices/system/node/node99999999999999999999/cpulist", "0\n")


def main():
    for name, build in [("tuned", tuned), ("untuned", untuned), ("edge", edge),
                        ("broken", broken), ("fairserver", fairserver)]:
        root = os.path.join(HERE, name)
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        build(root)


if __name__ == "__main__":
    main()
