"""The peers of the suite's main phase that are ours: a minimal aiohttp proxy, a uvicorn + httpx one, a JS pass-through Worker."""
