"""The benchmark request: what every configuration is sent, and the header-count variants."""

from __future__ import annotations

from bench.common import HOST

API_KEY = "bench-4f9c1e7a2b"
ORIGIN = "https://app.example.com"
# Every configuration receives the same request bytes; only the twin acts on these.
REQUEST_HEADERS = {"Authorization": f"Bearer {API_KEY}", "Origin": ORIGIN}
PATH = "/v1/items?limit=4"
#: The workerd phase's request: what a browser sends when the web app calls the gateway
#: cross-origin (Chromium 131's fetch, plus the app's own fields): 20 fields with wrk's Host.
#: Every Worker of that phase gets these, so none is flattered by a few-header request.
BROWSER_HEADERS = {
    **REQUEST_HEADERS,
    "Connection": "keep-alive",
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "Accept-Language": "en-GB,en;q=0.9,de;q=0.8",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Referer": f"{ORIGIN}/next",
    "Sec-Ch-Ua": '"Chromium";v="131", "Not_A Brand";v="24"',
    "Sec-Ch-Ua-Mobile": "?0",
    "Sec-Ch-Ua-Platform": '"Linux"',
    "Sec-Fetch-Dest": "empty",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "same-site",
    "Priority": "u=1, i",
    "Cache-Control": "no-cache",
    "Pragma": "no-cache",
    "X-Backend": "upstream",
    "X-Request-Id": "bench-browser-request-0001",
    "Cookie": "theme=dark; _ga=GA1.1.1234567890.1733400000",
}

#: Header-count variants of the workerd phase: how many extra fields each way, their names and
#: values (about the size of real ones), and the upstream path that answers with them.
EXTRA_HEADER_COUNT = 30
EXTRA_HEADERS = {
    f"x-bench-extra-{i:02d}": f"value-{i:02d}-0123456789abcdef0123456789" for i in range(EXTRA_HEADER_COUNT)
}
MANY_HEADERS_PREFIX = "/many-headers"


def url(port: int, path: str = PATH) -> str:
    """The benchmark request's URL on a local port (``path`` "" gives the base URL)."""
    return f"http://{HOST}:{port}{path}"
