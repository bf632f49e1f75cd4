"""gateway.workers.rate_limit: ``runtime.RateLimiter`` over a Workers Rate Limiting binding."""

from types import SimpleNamespace

import pytest

from gateway.workers.rate_limit import JsRateLimiter


class Binding:
    def __init__(self, success: bool) -> None:
        self.success = success
        self.keys: list[str] = []

    async def limit(self, options):
        self.keys.append(options.key)
        return SimpleNamespace(success=self.success)


@pytest.mark.parametrize("success", [True, False])
async def test_allow_is_the_bindings_verdict_for_the_key(success):
    binding = Binding(success)
    assert await JsRateLimiter(binding).allow("203.0.113.7") is success
    assert binding.keys == ["203.0.113.7"]
