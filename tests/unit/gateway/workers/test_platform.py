"""gateway.workers.platform: the Platform of a JS ``env``, and one gateway per env object."""

from gateway.workers.kv import JsKV
from gateway.workers.metrics import AnalyticsEngineMetrics
from gateway.workers.platform import build_platform, handler_for

from .conftest import JSNULL, JsObject


def env(**fields) -> JsObject:
    return JsObject(**fields)


def test_build_platform_reads_string_variables_and_the_known_bindings():
    kv, dataset = JsObject(), JsObject()
    platform, variables = build_platform(
        env(ENVIRONMENT="cloud", BACKEND_CONFIG_KV=kv, GATEWAY_ANALYTICS=dataset, OTHER_BINDING=JsObject())
    )
    assert variables == {"ENVIRONMENT": "cloud"}
    assert isinstance(platform.kv, JsKV)
    assert isinstance(platform.metrics, AnalyticsEngineMetrics)
    assert platform.rate_limiter is None


def test_build_platform_takes_a_null_binding_as_absent():
    platform, _ = build_platform(env(ENVIRONMENT="local", BACKEND_CONFIG_KV=JSNULL))
    assert platform.kv is None


def test_handler_for_builds_once_per_env_object():
    builds: list[dict] = []

    class Built:
        def __init__(self, variables):
            builds.append(variables)

        async def handle(self, request):
            return request

    first, second = env(ENVIRONMENT="local"), env(ENVIRONMENT="cloud")
    handler_for(lambda variables, platform: Built(variables), first)
    handler_for(lambda variables, platform: Built(variables), first)
    handler_for(lambda variables, platform: Built(variables), second)
    assert builds == [{"ENVIRONMENT": "local"}, {"ENVIRONMENT": "cloud"}]
