namespace rtvs {}
