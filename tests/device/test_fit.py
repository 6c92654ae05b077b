"""Tests of the maximum-likelihood fit, the KS goodness of fit and the CSV reader."""

import math

import numpy as np
import pytest
import torch

from ternary_rram.device import DeviceModel, LognormalState, State, fit, read_resistance_csv
from ternary_rram.errors import InputError


def test_fit_recovers_parameters_within_standard_errors():
    true = DeviceModel(lrs=LognormalState(6e3, 0.1, 0.1), hrs=LognormalState(4e5, 0.5, 0.5))
    g = torch.Generator().manual_seed(11)
    data = {"LRS": true.sample("LRS", 5000, g), "HRS": true.sample("HRS", 3000, g).numpy()}
    res = fit(data)
    for state in State:
        f = res[state]
        st = true.stats(state)
        assert abs(f.median - st.median) < 4 * f.median_se
        assert abs(f.sigma - st.sigma) < 4 * f.sigma_se
        assert f.sigma_se == pytest.approx(f.sigma / math.sqrt(2 * f.n))
        assert f.ks_statistic < 0.03 and f.ks_pvalue > 1e-3
        assert res.model.stats(state).median == pytest.approx(f.median)
        assert res.model.stats(state).sigma == pytest.approx(f.sigma)
    assert res.model.programming is None


def test_ks_large_for_uniform_data():
    rng = np.random.default_rng(0)
    res = fit({"HRS": rng.uniform(1e3, 1e6, 4000), "LRS": rng.lognormal(math.log(5e3), 0.15, 4000)})
    assert res["HRS"].ks_statistic > 0.1 and res["HRS"].ks_pvalue < 1e-6
    assert res["LRS"].ks_statistic < 0.03


def test_fit_missing_state_kept_from_base():
    base = DeviceModel()
    res = fit({"lrs": [4e3, 5e3, 6e3]}, base=base)
    assert res.model.hrs == base.hrs
    assert State.HRS not in res.states


@pytest.mark.parametrize("values,match", [([1e3, -5.0, 2e3], "resistance=-5.0"),
                                          ([1e3, 0.0], "resistance=0.0"),
                                          ([1e3, float("nan")], "NaN"),
                                          ([1e3], "at least 2"),
                                          ([1e3, 1e3, 1e3], "spread")])
def test_fit_bad_values(values, match):
    with pytest.raises(InputError, match=match):
        fit({"LRS": values})


def test_fit_bad_state():
    with pytest.raises(InputError, match="state"):
        fit({"MRS": [1.0, 2.0]})
    with pytest.raises(InputError):
        fit({})


def test_read_csv_ragged(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("HRS, lrs\n1e5,5000\n2e5,5100\n3e5,\n,4900\n")
    d = read_resistance_csv(p)
    np.testing.assert_allclose(d["LRS"], [5000, 5100, 4900])
    np.testing.assert_allclose(d["HRS"], [1e5, 2e5, 3e5])
    assert fit(d)["HRS"].n == 3


@pytest.mark.parametrize("text,match", [("LRS\n1\n2\n", "missing column 'HRS'"),
                                        ("LRS,HRS,X\n1,2,3\n", "column 'X'"),
                                        ("LRS,HRS\n1,2\nabc,3\n4,5\n", "line 3 column LRS"),
                                        ("LRS,HRS\n1,2\n-3,3\n4,5\n", "resistance=-3"),
                                        ("LRS,HRS\n1,2\nnan,3\n4,5\n", "resistance=nan"),
                                        ("LRS,HRS\n1,2\n,3\n", "column LRS: 1 value"),
                                        ("", "empty")])
def test_read_csv_errors(tmp_path, text, match):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(InputError, match=match) as ei:
        read_resistance_csv(p)
    assert "\n" not in str(ei.value)
    assert "bad.csv" in str(ei.value)


def test_read_csv_missing_file(tmp_path):
    with pytest.raises(InputError, match="nope.csv"):
        read_resistance_csv(tmp_path / "nope.csv")
