from types import SimpleNamespace

from selftaught.models.limits import Prices


def test_prices_of_a_config_object_and_of_recorded_settings_agree():
    settings = SimpleNamespace(price_prompt=2.0, price_completion=6.0)
    recorded = {"price_prompt": 2.0, "price_completion": 6.0}
    assert Prices.of(settings) == Prices.of(recorded) == Prices(2.0, 6.0)
    assert Prices.of(recorded).cost(1_000_000, 500_000) == 5.0


def test_a_missing_or_null_price_is_zero():
    assert Prices.of({}) == Prices.of({"price_prompt": None, "price_completion": None}) == Prices()
