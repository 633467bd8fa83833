"""The GEX payload: one IV/T basis, buckets, one set of gamma levels, per-expiry statistics."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import pytest

from spotlight.analytics.chain_math import charm, gamma, implied_vols, vanna
from spotlight.analytics.gex import OptionPosition, gex_by_strike, price_chain
from spotlight.analytics.gex_report import expected_move, gex_report, max_pain
from spotlight.analytics.greeks import bs_gamma, bs_price, implied_vol, norm_cdf
from spotlight.analytics.session import SessionCalendar
from spotlight.domain.nytime import NY
from spotlight.domain.options import OptionSnapshot

MON = date(2026, 11, 23)
CAL = SessionCalendar()
AT_13 = datetime.combine(MON, time(13, 0), NY)
CAL_YEAR_MIN = 365 * 24 * 60


def vendor_snapshot(
    strike: float, kind: str, iv: float, spot: float = 6000.0, minutes_left: float = 180.0
) -> OptionSnapshot:
    """A contract as a vendor quoting on calendar time publishes it: IV, mid and gamma all
    from Black-Scholes with T = calendar minutes / (365 * 1440)."""
    t = minutes_left / CAL_YEAR_MIN
    mid = bs_price("call" if kind == "call" else "put", spot, strike, iv, t)
    code = "C" if kind == "call" else "P"
    return OptionSnapshot(
        ticker=f"O:SPXW261123{code}{round(strike * 1000):08d}",
        contract_type=kind,
        expiration_date="2026-11-23",
        strike=strike,
        shares_per_contract=100.0,
        open_interest=10_000.0,
        implied_volatility=iv,
        delta=None,
        gamma=bs_gamma(spot, strike, iv, t),
        theta=None,
        vega=None,
        day_volume=0.0,
        day_vwap=None,
        bid=None,
        ask=None,
        mid=mid,
        quote_ts_ms=None,
        last_price=None,
        last_size=None,
        last_exchange=None,
        last_conditions=(),
        trade_ts_ms=None,
        underlying_value=spot,
        delayed=False,
    )


# -- item 1: IV and time on one basis ---------------------------------------------------------


def test_vol_is_implied_from_the_mid_on_our_time_basis() -> None:
    # A vendor's 14% on calendar time (3 h of 8,760 h a year). Using that IV with our trading
    # time (3 h of 252 x 6.5 h) made the ATM 0DTE gamma 0.43x the vendor's; implied again
    # from the mid on our T, the total variance and hence the gamma agree.
    snaps = [vendor_snapshot(6000, "call", 0.14), vendor_snapshot(6000, "put", 0.14)]
    positions = [OptionPosition.from_snapshot(s) for s in snaps]
    chain = price_chain(positions, 6000.0, AT_13, CAL)
    assert chain.source == ("mid", "mid")
    ours = chain.gamma()
    vendor = snaps[0].gamma
    assert vendor is not None
    assert float(ours[0]) == pytest.approx(vendor, rel=0.01)
    t_ours = 180 / (252 * 390)
    assert float(chain.vol[0]) == pytest.approx(
        0.14 * math.sqrt((180 / CAL_YEAR_MIN) / t_ours), rel=1e-3
    )
    report = gex_report(positions, 6000.0, AT_13, CAL)
    check = report["vendorGammaCheck"]
    assert isinstance(check, dict)
    assert check["0dte"]["atmContracts"] == 2
    assert abs(check["0dte"]["atmMedian"]) < 0.01


def test_vendor_iv_is_converted_when_there_is_no_usable_mid() -> None:
    snap = vendor_snapshot(6000, "call", 0.14)
    no_mid = OptionPosition.from_snapshot(snap)
    no_mid = OptionPosition(
        no_mid.strike, no_mid.kind, no_mid.expiry, False, no_mid.open_interest,
        vendor_gamma=no_mid.vendor_gamma, vendor_iv=0.14,
    )  # fmt: skip
    chain = price_chain([no_mid], 6000.0, AT_13, CAL)
    assert chain.source == ("vendor",)
    assert float(chain.gamma()[0]) == pytest.approx(snap.gamma, rel=0.01)
    # Neither a mid nor an IV: counted, never guessed.
    bare = OptionPosition(6000.0, "call", MON, False, 100.0)
    assert price_chain([bare], 6000.0, AT_13, CAL).unpriced == 1


def test_vectorized_math_matches_the_scalar_reference() -> None:
    strikes = [5900.0, 6000.0, 6100.0]
    for kind in ("call", "put"):
        is_call = [1.0 if kind == "call" else 0.0] * 3
        t = [0.01] * 3
        prices = [bs_price(kind, 6000.0, k, 0.2, 0.01) for k in strikes]
        import numpy as np

        got = implied_vols(
            np.array(is_call), np.array(prices), np.full(3, 6000.0), np.array(strikes),
            np.array(t), np.ones(3),
        )  # fmt: skip
        for k, p, v in zip(strikes, prices, got, strict=True):
            assert v == pytest.approx(implied_vol(kind, p, 6000.0, k, 0.01), abs=1e-9)
        g = gamma(
            6000.0, np.full(3, 6000.0), np.array(strikes), np.full(3, 0.2), np.array(t), np.ones(3)
        )
        assert list(g) == pytest.approx(
            [bs_gamma(6000.0, k, 0.2, 0.01) for k in strikes], rel=1e-12
        )


def _delta(s: float, k: float, vol: float, t: float) -> float:
    d1 = (math.log(s / k) + 0.5 * vol * vol * t) / (vol * math.sqrt(t))
    return norm_cdf(d1)


def test_vanna_and_charm_are_derivatives_of_delta() -> None:
    import numpy as np

    s, k, vol, t = 6000.0, 6030.0, 0.15, 0.004
    one = np.ones(1)
    h = 1e-6
    dv = (_delta(s, k, vol + h, t) - _delta(s, k, vol - h, t)) / (2 * h)
    dt = (_delta(s, k, vol, t - h * 1e-2) - _delta(s, k, vol, t + h * 1e-2)) / (2 * h * 1e-2)
    fwd, strike = np.full(1, s), np.full(1, k)
    assert float(vanna(s, fwd, strike, vol * one, t * one, one)[0]) == pytest.approx(dv, rel=1e-5)
    assert float(charm(s, fwd, strike, vol * one, t * one, one)[0]) == pytest.approx(dt, rel=1e-4)
    # An out-of-the-money call loses delta as time passes: charm is negative there.
    assert float(charm(s, fwd, strike, vol * one, t * one, one)[0]) < 0


# -- buckets and levels -----------------------------------------------------------------------


def pos(
    strike: float, kind: str, expiry: date = MON, oi: float = 1000.0, iv: float = 0.15
) -> OptionPosition:
    return OptionPosition(strike, kind, expiry, False, oi, iv)


def test_ex_0dte_is_all_minus_0dte_and_per_point_is_per_percent_over_spot() -> None:
    book = [
        pos(5950, "put", oi=20_000), pos(6000, "call", oi=15_000),
        pos(6050, "call", MON + timedelta(7), 30_000), pos(5900, "put", MON + timedelta(7), 9_000),
    ]  # fmt: skip
    report = gex_report(book, 6000.0, AT_13, CAL)
    b = report["buckets"]
    assert isinstance(b, dict)
    assert (
        b["0dte"]["contracts"] == 2 and b["ex0dte"]["contracts"] == 2 and b["all"]["contracts"] == 4
    )
    assert b["all"]["totalGexBn"] == pytest.approx(
        b["0dte"]["totalGexBn"] + b["ex0dte"]["totalGexBn"]
    )
    assert [s["strike"] for s in b["ex0dte"]["strikes"]] == [5900, 6050]
    for name in ("0dte", "ex0dte", "all"):
        bucket = b[name]
        assert bucket["totalGexPerPointBn"] == pytest.approx(bucket["totalGexBn"] / 60)
        for row in bucket["strikes"]:
            assert row["absGexBn"] == pytest.approx(abs(row["callGexBn"]) + abs(row["putGexBn"]))
            assert row["netGexPerPointBn"] == pytest.approx(row["netGexBn"] / 60)
        assert bucket["absGexBn"] >= abs(bucket["totalGexBn"])
    # Per expiry: both expiries, net GEX adding up to the total.
    expiries = report["expiries"]
    assert isinstance(expiries, list)
    assert [e["expiry"] for e in expiries] == ["2026-11-23", "2026-11-30"]
    assert sum(e["netGexBn"] for e in expiries) == pytest.approx(b["all"]["totalGexBn"])


def test_gamma_levels_come_from_one_bucket_and_inverted_walls_are_flagged() -> None:
    # Sound 0DTE walls: put wall below the call wall. The levels are the 0DTE bucket's.
    sound = [pos(5950, "put", oi=20_000), pos(6050, "call", oi=20_000),
             pos(6200, "call", MON + timedelta(14), 90_000)]  # fmt: skip
    levels = gex_report(sound, 6000.0, AT_13, CAL)["gammaLevels"]
    assert isinstance(levels, dict)
    assert (levels["bucket"], levels["callWall"], levels["putWall"]) == ("0dte", 6050, 5950)
    # Near the bell 0DTE gamma piles onto the money: here the put wall sits above the call
    # wall. The bucket says so, and the published levels are the all-expiry ones, flip
    # included (never the 0DTE walls with another bucket's flip).
    at_1555 = datetime.combine(MON, time(15, 55), NY)
    inverted = [pos(6005, "put", oi=20_000), pos(5995, "call", oi=20_000),
                pos(6200, "call", MON + timedelta(14), 9_000_000),
                pos(5800, "put", MON + timedelta(14), 9_000_000)]  # fmt: skip
    report = gex_report(inverted, 6000.0, at_1555, CAL)
    buckets = report["buckets"]
    assert isinstance(buckets, dict)
    assert buckets["0dte"]["levels"]["status"] == "inverted"
    chosen = report["gammaLevels"]
    assert isinstance(chosen, dict)
    assert chosen["bucket"] == "all" and "inverted" in chosen["reason"]
    assert chosen["flip"] == buckets["all"]["flip"]["level"]
    assert chosen["netGexBn"] == buckets["all"]["totalGexBn"]
    # After the close nothing is live today: all-expiry levels, and it says why.
    after = gex_report(sound, 6000.0, datetime.combine(MON, time(16, 30), NY), CAL)["gammaLevels"]
    assert isinstance(after, dict) and after["bucket"] == "all" and "0DTE" in after["reason"]


# -- max pain and the expected move -----------------------------------------------------------


def test_max_pain_worked_example() -> None:
    # Calls: 6000 x 100, 6050 x 300; puts: 5950 x 200, 6000 x 50 (multiplier 100).
    book = [pos(6000, "call", oi=100), pos(6050, "call", oi=300),
            pos(5950, "put", oi=200), pos(6000, "put", oi=50)]  # fmt: skip
    # Paid to holders at each candidate settlement, in $:
    #   5950: puts 0 + 6000P 50 x 50 x 100 = 250,000
    #   6000: 0 (calls at or out of the money, puts 5950 out of the money, 6000P at the money)
    #   6050: 6000C 100 x 50 x 100 = 500,000
    assert max_pain(book) == 6000
    assert max_pain([]) is None


def test_expected_move_from_the_atm_straddle() -> None:
    call = OptionPosition(6000, "call", MON, False, 10, mid=24.0)
    put = OptionPosition(6000, "put", MON, False, 10, mid=22.0)
    far = OptionPosition(6050, "call", MON, False, 10, mid=3.0)
    move = expected_move([call, put, far], 6003.0)
    assert move == {
        "strike": 6000, "straddle": 46.0, "lower": 5957.0, "upper": 6049.0,
        "oneSigma": pytest.approx(46.0 * 1.2533, rel=1e-4),
    }  # fmt: skip
    assert expected_move([far], 6003.0) is None


def test_report_surfaces_the_0dte_statistics() -> None:
    snaps = [vendor_snapshot(k, kind, 0.14) for k in (5990, 6000, 6010) for kind in ("call", "put")]
    report = gex_report([OptionPosition.from_snapshot(s) for s in snaps], 6000.0, AT_13, CAL)
    move = report["expectedMove0dte"]
    assert isinstance(move, dict) and move["strike"] == 6000
    straddle = snaps[2].mid + snaps[3].mid  # type: ignore[operator]
    assert move["straddle"] == pytest.approx(straddle)
    assert report["maxPain0dte"] in (5990, 6000, 6010)
    iv = report["atmIv0dte"]
    assert isinstance(iv, float) and iv == pytest.approx(
        0.14 * math.sqrt((180 / CAL_YEAR_MIN) / (180 / (252 * 390))), rel=1e-3
    )
    assert report["ivSources"] == {"given": 0, "mid": 6, "vendor": 0, "unpriced": 0}


def test_gex_by_strike_still_rejects_unknown_buckets() -> None:
    with pytest.raises(ValueError, match="bucket"):
        gex_by_strike([], 6000.0, AT_13, CAL, "week")  # type: ignore[arg-type]


# -- issue 27: the edges of the pricing -------------------------------------------------------


def test_a_mid_at_intrinsic_has_no_time_value_even_one_ulp_off() -> None:
    import numpy as np

    # The 6100 put with the forward at 5954.5: intrinsic 145.5, and a mid of 145.5 has no
    # time value. With the forward one ulp higher (what carry x spot rebuilds), "time value"
    # is 9.1e-13 points, which used to solve to a 3.9% vol. Nothing is there to invert.
    one = np.ones(1)
    t = 1555.359 / 98_280 * one
    for fwd in (5954.5, math.nextafter(5954.5, math.inf), 5954.5 / 5953.15 * 5953.15):
        [vol] = implied_vols(0 * one, 145.5 * one, fwd * one, 6100.0 * one, t, one)
        assert math.isnan(vol), fwd
    # A real time value, even 0.0001 points, is still implied.
    [vol] = implied_vols(0 * one, 145.5001 * one, 5954.5 * one, 6100.0 * one, t, one)
    assert 0.0 < vol < 1.0

    # Through the chain: parity at 6000 puts the forward at 6000 + (10.00 - 55.50) = 5954.5
    # with spot 5953.15; the at-intrinsic 6100 put takes the vendor's IV, converted.
    def position(kind: str, strike: float, mid: float) -> OptionPosition:
        return OptionPosition(strike, kind, MON, False, 1000.0, mid=mid, vendor_iv=0.20)

    book = [position("call", 6000, 10.0), position("put", 6000, 55.5), position("put", 6100, 145.5)]
    chain = price_chain(book, 5953.15, AT_13, CAL)
    assert chain.source == ("mid", "mid", "vendor")
    tau = 180 / (252 * 390)
    assert float(chain.vol[2]) == pytest.approx(0.20 * math.sqrt((180 / CAL_YEAR_MIN) / tau))


def test_the_15_minute_floor_caps_gamma_for_mid_implied_vols() -> None:
    # ATM 0DTE 6000 call and put quoted by a vendor at 14% on calendar time. At 15:59 one
    # session minute is left. The vol is implied on that real minute (6.05%: the vendor's
    # total variance on our clock), and gamma is taken on the 15-minute floor:
    #   real    = phi(d1) / (S vol sqrt(1 / 98,280))  = 0.34432
    #   capped  = phi(d1) / (S vol sqrt(15 / 98,280)) = 0.08890 = real x sqrt(1/15)
    # Implying on the floored T instead kept vol x sqrt(T) (gamma's only input), so the floor
    # did nothing: 0.34432, and gamma grew as sqrt(15) from 15:45 to 15:59.
    vol = 0.14 * math.sqrt(98_280 / CAL_YEAR_MIN)
    assert vol == pytest.approx(0.0605, abs=5e-5)
    real = bs_gamma(6000, 6000, vol, 1 / 98_280)
    capped = bs_gamma(6000, 6000, vol, 15 / 98_280)
    assert real == pytest.approx(0.34432, abs=5e-6)
    assert capped == pytest.approx(0.08890, abs=5e-6)
    assert capped == pytest.approx(real / math.sqrt(15), rel=1e-4)
    gammas = {}
    for hh, mm, left in ((15, 45, 15.0), (15, 59, 1.0)):
        now = datetime.combine(MON, time(hh, mm), NY)
        snaps = [vendor_snapshot(6000, k, 0.14, minutes_left=left) for k in ("call", "put")]
        chain = price_chain([OptionPosition.from_snapshot(s) for s in snaps], 6000.0, now, CAL)
        assert chain.source == ("mid", "mid")
        assert float(chain.vol[0]) == pytest.approx(vol, rel=1e-6)
        gammas[left] = float(chain.gamma()[0])
    assert gammas[1.0] == pytest.approx(capped, rel=1e-6)
    # From the floor on, ATM gamma stops growing: 15:59 as 15:45.
    assert gammas[1.0] == pytest.approx(gammas[15.0], rel=1e-4)
    # The vendor's IV without a mid lands on the same vol and the same capped gamma.
    at_1559 = datetime.combine(MON, time(15, 59), NY)
    bare = OptionPosition(6000.0, "call", MON, False, 1000.0, vendor_iv=0.14)
    chain = price_chain([bare], 6000.0, at_1559, CAL)
    assert chain.source == ("vendor",)
    assert float(chain.vol[0]) == pytest.approx(vol, rel=1e-9)
    assert float(chain.gamma()[0]) == pytest.approx(capped, rel=1e-6)


def test_a_crossed_quote_is_priced_from_the_vendor_iv() -> None:
    from spotlight.market.massive.models import parse_option_snapshot

    # Bid 3.00 over ask 1.00 on the 6050 call at 13:00: the "mid" 2.00 implied a vol of
    # 15.5%. Refused when parsed, it leaves the vendor's 14% (calendar time), converted.
    item = {
        "details": {
            "ticker": "O:SPXW261123C06050000", "contract_type": "call",
            "expiration_date": "2026-11-23", "strike_price": 6050, "shares_per_contract": 100,
        },
        "open_interest": 1000, "implied_volatility": 0.14,
        "last_quote": {"bid": 3.00, "ask": 1.00, "midpoint": 2.00},
    }  # fmt: skip
    position = OptionPosition.from_snapshot(parse_option_snapshot(item))
    chain = price_chain([position], 6000.0, AT_13, CAL)
    assert chain.source == ("vendor",)
    assert float(chain.vol[0]) == pytest.approx(
        0.14 * math.sqrt((180 / CAL_YEAR_MIN) / (180 / 98_280))
    )
    # What the crossed mid would have given: 15.5%.
    assert implied_vol("call", 2.00, 6000.0, 6050.0, 180 / 98_280) == pytest.approx(0.155, abs=5e-4)


def test_chain_delta_is_the_derivative_of_the_price_in_spot() -> None:
    import numpy as np

    from spotlight.analytics.chain_math import black_price

    # Delta of Black-76 on F = c S with discount D: D c N(d1) for a call, D c (N(d1) - 1)
    # for a put. Checked against a central difference of the price in spot, with a carry
    # and a discount that are not 1 (r = 5%, 9 days out, forward from q).
    book = [pos(k, kind, MON + timedelta(9), iv=0.2) for k in (5800, 6000, 6250)
            for kind in ("call", "put")]  # fmt: skip
    chain = price_chain(book, 6000.0, AT_13, CAL, r=0.05, q=0.01)
    assert float(chain.carry[0]) != 1.0 and float(chain.disc[0]) != 1.0
    got = chain.delta()
    h = 1e-3
    for i in range(len(book)):
        one = [np.asarray([a[i]]) for a in (chain.is_call, chain.strike, chain.vol, chain.t)]
        is_call, strike, vol, t = one
        c, d = chain.carry[i : i + 1], chain.disc[i : i + 1]
        up = black_price(is_call, c * (6000 + h), strike, vol, t, d)[0]
        down = black_price(is_call, c * (6000 - h), strike, vol, t, d)[0]
        assert float(got[i]) == pytest.approx((up - down) / (2 * h), abs=1e-7)
    # Call minus put at one strike is D c (put-call parity).
    assert float(got[0] - got[1]) == pytest.approx(float(chain.disc[0] * chain.carry[0]))
