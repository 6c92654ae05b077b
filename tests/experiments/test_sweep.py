"""Design-space sweeps: spec checking, hashing, result store, and runs on a local Dask cluster
(2 worker processes), including a worker killed in the middle of a sweep."""

from __future__ import annotations

import logging
import os
import signal

import pandas as pd
import pytest

import tests.experiments._sweep_fixtures  # noqa: F401  (registers the test experiments)
from ternary_rram.errors import InputError
from ternary_rram.experiments import points as pts
from ternary_rram.experiments.sweep import (
    VOLATILE_COLUMNS,
    ResultStore,
    load_results,
    load_spec,
    pareto_front,
    parse_spec,
    point_hash,
    run_sweep,
    seed_from_hash,
)

distributed = pytest.importorskip("distributed")

# The real sense experiment, made as cheap as it gets: 2 samples per state, binary states (the grids
# below use short windows).
TINY_SENSE = {"samples": 2, "states": "binary"}


# ------------------------------------------------------------------------------------------ spec
def test_grid_expansion_ranges_and_dedupe():
    spec = parse_spec({"experiment": "sense", "fixed": {"samples": 10},
                       "grid": {"vdd": [1.0, 1.2, 1.0], "t_sense": {"start": 1e-9, "stop": 4e-9, "num": 3, "log": True}}})
    assert spec.grid["vdd"] == [1.0, 1.2]  # duplicates dropped
    assert spec.grid["t_sense"] == pytest.approx([1e-9, 2e-9, 4e-9])
    points = spec.points()
    assert len(points) == 6 and len({p.hash for p in points}) == 6
    assert all(p.params["samples"] == 10 and p.params["hrs_median"] == 300e3 for p in points)
    assert spec.summary.x == "vdd" and spec.summary.y == "t_sense"  # first two varied axes by default


def test_random_sample_reproducible_and_in_range():
    data = {"experiment": "sense", "seed": 7, "grid": {"vdd": [1.0, 1.2]},
            "random": {"n": 5, "hrs_sigma": {"low": 0.3, "high": 0.9}, "hrs_median": {"low": 1e5, "high": 1e6, "log": True},
                       "states": ["binary", "ternary"]}}
    a, b = parse_spec(data).points(), parse_spec(data).points()
    assert [p.hash for p in a] == [p.hash for p in b] and len(a) == 10
    assert all(0.3 <= p.params["hrs_sigma"] <= 0.9 and 1e5 <= p.params["hrs_median"] <= 1e6 for p in a)
    c = parse_spec({**data, "seed": 8}).points()
    assert {p.hash for p in c}.isdisjoint({p.hash for p in a})


def test_hash_is_stable_and_type_normalised():
    exp = pts.get_experiment("sense")
    p1 = exp.resolve({"vdd": 1, "samples": 100.0})
    p2 = exp.resolve(dict(reversed(list({"samples": 100, "vdd": 1.0}.items()))))
    assert p1 == p2 and point_hash(exp, p1, 0) == point_hash(exp, p2, 0)
    assert point_hash(exp, p1, 0) != point_hash(exp, p1, 1)
    h = point_hash(exp, p1, 0)
    assert len(h) == 64 and 0 <= seed_from_hash(h) < 2**63


@pytest.mark.parametrize("data, words", [
    ({"experiment": "nope"}, "experiment='nope' is not allowed"),
    ({"experiment": "sense", "grid": {"vddd": [1.0]}}, "vddd"),
    ({"experiment": "sense", "grid": {"vdd": [1.0, 5.0]}}, "vdd=5.0 is not allowed: must be a number in (0, 2] V"),
    ({"experiment": "sense", "fixed": {"samples": "many"}}, "samples='many' is not allowed"),
    ({"experiment": "sense", "fixed": {"samples": 1.5}}, "samples=1.5 is not allowed"),
    ({"experiment": "sense", "grid": {"vdd": []}}, "grid.vdd=[] is not allowed"),
    ({"experiment": "sense", "grid": {"states": ["binary", "quaternary"]}}, "states='quaternary'"),
    ({"experiment": "sense", "fixed": {"vdd": 1.0}, "grid": {"vdd": [1.1]}}, "vdd is not allowed in both"),
    ({"experiment": "sense", "random": {"vdd": {"low": 1.0, "high": 1.2}}}, "random.n is missing"),
    ({"experiment": "sense", "random": {"n": 3, "vdd": {"low": 1.2, "high": 1.0}}}, "needs low <= high"),
    ({"experiment": "sense", "grid": {"vdd": [1.0, 1.1], "t_sense": [1e-9, 2e-9]},
      "summary": {"x": "vdd", "y": "t_sense", "metric": "speed"}}, "summary.metric='speed'"),
    ({"experiment": "sense", "grid": {"vdd": [1.0, 1.1]}, "summary": {"x": "vdd", "y": "hrs_sigma"}},
     "must be a parameter the spec varies"),
    ({"experiment": "sense", "grdi": {}}, "grdi is not allowed"),
    ({"experiment": "sense", "seed": -1}, "seed=-1 is not allowed"),
])
def test_bad_spec_is_one_line_error(data, words):
    with pytest.raises(InputError) as info:
        parse_spec(data)
    msg = str(info.value)
    assert words in msg and "\n" not in msg


def test_load_spec_bad_toml(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('experiment = "sense"\n[grid]\nvdd = [1.0,\n')
    with pytest.raises(InputError, match="not valid TOML") as info:
        load_spec(f)
    assert "\n" not in str(info.value)


def test_example_specs_are_valid():
    root = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
    specs = [f for f in os.listdir(root) if f.startswith("sweep_") and f.endswith(".toml")]
    assert "sweep_sense.toml" in specs
    for f in specs:
        spec = load_spec(os.path.join(root, f))
        assert spec.points()


# ------------------------------------------------------------------------------ store / summary
def test_store_atomic_replace_and_load(tmp_path):
    store = ResultStore(tmp_path)
    store.ensure()
    store.write({"hash": "a" * 64, "experiment": "e", "status": "failed", "error": "boom", "seed": 1, "x": 1})
    store.write({"hash": "b" * 64, "experiment": "e", "status": "ok", "error": "", "seed": 2, "x": 2, "m": 0.5})
    store.write({"hash": "a" * 64, "experiment": "e", "status": "ok", "error": "", "seed": 1, "x": 1, "m": 0.25})
    assert sorted(os.listdir(tmp_path / "results")) == ["a" * 64 + ".parquet", "b" * 64 + ".parquet"]
    assert store.ok_hashes() == {"a" * 64, "b" * 64}
    df = load_results(tmp_path)
    assert list(df["m"]) == [0.25, 0.5] and list(df["status"]) == ["ok", "ok"]


def test_pareto_front():
    df = pd.DataFrame({"acc": [0.5, 0.9, 0.8, 0.95, 0.9, float("nan")], "e": [1.0, 2.0, 3.0, 5.0, 1.5, 0.1]})
    front = pareto_front(df, "acc", "e")
    assert list(front.index) == [0, 4, 3]


# ------------------------------------------------------------------------------ on Dask
@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.CRITICAL) as cluster, distributed.Client(cluster) as c:
        yield c


def _stable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in (*VOLATILE_COLUMNS, "traceback") if c in df.columns]).reset_index(drop=True)


SENSE_SPEC = {"experiment": "sense", "fixed": TINY_SENSE, "grid": {"vdd": [1.0, 1.2], "t_sense": [0.2e-9, 0.3e-9]},
              "summary": {"x": "vdd", "y": "t_sense", "metric": ["error_rate", "energy_per_sense"]}}


@pytest.fixture(scope="module")
def sense_run(client, tmp_path_factory):
    """The tiny sense sweep, run once without any failure: (report, output folder)."""
    out = tmp_path_factory.mktemp("sense")
    return run_sweep(parse_spec(SENSE_SPEC), out, client=client, progress=False), out


def test_sense_sweep_runs_writes_summary_and_rerun_skips(client, sense_run):
    rep, out = sense_run
    assert (rep.n_points, rep.n_ok, rep.n_failed, rep.n_skipped) == (4, 4, 0, 0)
    df = load_results(out)
    assert len(df) == 4 and df["hash"].is_unique and (df["status"] == "ok").all()
    assert (df["energy_per_sense"] > 0).all() and df["p_plus_given_plus"].between(0, 1).all()
    assert pd.read_parquet(out / "results.parquet").shape == df.shape
    for name in ("points.csv", "pareto.csv", "pareto.png", "heatmap_error_rate__t_sense_vs_vdd.png",
                 "heatmap_energy_per_sense__t_sense_vs_vdd.csv"):
        assert (out / "summary" / name).exists(), name
    # a rerun finds everything finished and submits nothing
    rep2 = run_sweep(parse_spec(SENSE_SPEC), out, client=client, progress=False)
    assert (rep2.n_skipped, rep2.n_run) == (4, 0)
    pd.testing.assert_frame_equal(_stable(load_results(out)), _stable(df))


def test_failed_point_is_retried_then_recorded_and_rerun_retries_it(client, tmp_path):
    log = tmp_path / "calls"
    log.mkdir()
    spec = parse_spec({"experiment": "test-poly", "retries": 2, "fixed": {"fail_at": 2, "log_dir": str(log)},
                       "grid": {"x": [1, 2, 3], "y": [0.5]}})
    rep = run_sweep(spec, tmp_path / "out", client=client, progress=False, summary=False)
    assert (rep.n_ok, rep.n_failed) == (2, 1)
    df = load_results(tmp_path / "out")
    bad = df[df["status"] == "failed"]
    assert len(df) == 3 and len(bad) == 1 and int(bad["x"].iloc[0]) == 2
    assert bad["error"].iloc[0] == "ValueError: deliberate failure at x=2"
    assert "poly_point" in bad["traceback"].iloc[0]
    calls = [f.split("-")[1] for f in os.listdir(log)]
    assert calls.count("2") == 3 and calls.count("1") == 1  # 1 try + 2 retries for the failing point
    # rerun: the ok points are skipped, the failed one is tried again (and fails again)
    rep2 = run_sweep(spec, tmp_path / "out", client=client, progress=False, summary=False)
    assert (rep2.n_skipped, rep2.n_failed) == (2, 1)
    assert len(load_results(tmp_path / "out")) == 3


def test_worker_killed_mid_sweep_loses_nothing(client, sense_run, tmp_path):
    """Kill one of the 2 workers (SIGKILL) while it runs a point: Dask reruns its point elsewhere, and
    the table ends with every point exactly once, identical to the run without the kill."""
    killed: list[int] = []

    def kill_one(row: dict) -> None:  # called after the first finished point is written
        if killed:
            return
        pids = client.run(os.getpid)
        busy = [w for w, keys in client.processing().items() if keys and w in pids]
        assert busy, "no point was running any more: the kill would not be mid-sweep"
        os.kill(pids[busy[0]], signal.SIGKILL)
        killed.append(pids[busy[0]])

    rep = run_sweep(parse_spec(SENSE_SPEC), tmp_path, client=client, progress=False, summary=False,
                    on_point=kill_one)
    assert killed and killed[0] not in client.run(os.getpid).values()  # the worker really died
    assert (rep.n_ok, rep.n_failed) == (4, 0)
    got, ref = load_results(tmp_path), load_results(sense_run[1])
    assert got["hash"].is_unique and len(got) == 4
    pd.testing.assert_frame_equal(_stable(got), _stable(ref))


# ------------------------------------------------------------------------------ chip experiments
def test_chip_experiments_run_deterministically(tmp_path):
    """energy-per-inference (untrained tiny MLP) and accuracy-vs-error-rate (its checkpoint), called
    directly: deterministic given (params, seed); a missing required parameter is a spec error."""
    from ternary_rram.nn.checkpoint import save_checkpoint
    from ternary_rram.nn.models import build_model

    exp = pts.get_experiment("energy-per-inference")
    params = exp.resolve({"model": "mlp", "width": 4, "in_channels": 1, "image_size": 4, "num_classes": 2,
                          "sense_grid": 3, "sense_mc": 1, "t_sense": 0.3e-9})
    a = exp.load()(params, 11)
    assert set(exp.metrics) <= set(a) and a["energy_per_inference"] > 0 and a["n_weights"] == 16 * 4 + 4 * 4 + 4 * 2
    assert exp.load()(params, 11) == a

    model = build_model("mlp", width=4, in_channels=1, image_size=8, num_classes=4)
    save_checkpoint(tmp_path / "checkpoint.pt", model_config=model.config, model_state=model.state_dict(),
                    epoch=0, data={"name": "synthetic"})
    exp = pts.get_experiment("accuracy-vs-error-rate")
    params = exp.resolve({"checkpoint": str(tmp_path), "n_test": 32, "ber": 0.1, "repeats": 2})
    r = exp.load()(params, 3)
    assert 0 <= r["accuracy"] <= 1 and r["n_images"] == 32 and exp.load()(params, 3) == r
    # a packed network (what pretrained:NAME resolves to) is a checkpoint here too, with the same result
    from ternary_rram.nn.packed import save_packed

    save_packed(tmp_path / "net.packed", model, metadata={"data": {"name": "synthetic"}})
    packed = exp.resolve({"checkpoint": str(tmp_path / "net.packed"), "n_test": 32, "ber": 0.1, "repeats": 2})
    assert exp.load()(packed, 3) == r
    with pytest.raises(InputError, match="checkpoint is missing"):
        parse_spec({"experiment": "deployed-accuracy", "grid": {"vdd": [1.0]}})


def test_a_worker_warning_is_one_line(capsys):
    """Points run in fresh worker processes: their warnings print in the CLI's one-line form."""
    import warnings

    from ternary_rram.experiments.sweep import execute_point

    saved = warnings.showwarning
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            out = execute_point("tests.experiments._sweep_fixtures:warning_point", {}, 0, ("y",))
    finally:
        warnings.showwarning = saved
    err = capsys.readouterr().err.strip().splitlines()
    assert out["metrics"] == {"y": 1.0}
    assert err == ["ternary-rram sweep: warning: data copy is not the official one"]
