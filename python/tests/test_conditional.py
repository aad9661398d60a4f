"""Conditional generation in Python (docs/conditional.md): TimeGAN(condition=...) on long
DataFrames and CSV paths, sample() with condition= / conditions= and the conditions beside each
sequence, the CLI's one-line errors, save/load, evaluate's per-condition scores, and
byte-identical results through Python and the command line at the same seed."""
import json

import numpy as np
import pytest

import timegan
from conftest import CLI_TINY_LONG as CLI_TINY, LONG, TINY

pd = pytest.importorskip("pandas")


def cond_frame(n=24, T=6, seed=3):
    """id, value (a sine: fast or slow), class (its label) and dose (1..4, a number)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        fast = i % 2 == 1
        for t in range(T):
            rows.append((f"s{i}", 0.5 + 0.4 * np.sin((0.9 if fast else 0.2) * t + i) + 0.01 * rng.normal(),
                         "fast" if fast else "slow", 1 + i % 4))
    return pd.DataFrame(rows, columns=["id", "value", "class", "dose"])


def per_sequence(frame, column):
    """Each sequence's value of a column (checked constant within it)."""
    g = frame.groupby("sequence_id", sort=True)[column]
    assert (g.nunique() == 1).all()
    return g.first().tolist()


def test_sample_with_a_label_condition():
    df = cond_frame()
    m = timegan.TimeGAN(**LONG, condition="class").fit(df[["id", "value", "class"]], id_column="id")
    assert m.condition == "class"
    assert m.condition_["kind"] == "categorical" and m.condition_["labels"] == ["fast", "slow"]
    assert m.condition_["counts"] == [12, 12]
    assert m.config_["model"]["condition_dim"] == 2 and m.config_["model"]["features"] == 1
    assert m.config_["data"]["condition"] == "class"
    s = m.sample(3, seed=1, condition="fast")
    assert list(s.columns) == ["sequence_id", "t", "value", "class"]
    assert per_sequence(s, "class") == ["fast"] * 3
    # n for each value, in order (generate --condition fast,slow)
    both = m.sample(2, seed=1, condition=["slow", "fast"])
    assert per_sequence(both, "class") == ["slow", "slow", "fast", "fast"]
    # one sequence per entry (--condition-file)
    each = m.sample(seed=1, conditions=["fast", "slow", "slow"])
    assert per_sequence(each, "class") == ["fast", "slow", "slow"]
    # the noise of a seed does not depend on the conditions: sequence 0 of each call is generated
    # from the same noise, so for the same condition it is the same sequence
    pd.testing.assert_frame_equal(each[each.sequence_id == 0], s[s.sequence_id == 0])
    # drawn from the training distribution without a condition
    drawn, conds = m.sample(40, seed=2, return_conditions=True)
    assert per_sequence(drawn, "class") == conds
    assert set(conds) == {"fast", "slow"}
    frame, conds = m.sample(seed=1, conditions=["slow", "fast"], return_conditions=True)
    assert conds == ["slow", "fast"]
    # return_static and return_conditions together: (samples, static values [n, 0], conditions)
    frame, statics, conds = m.sample(2, seed=1, condition="slow", return_static=True, return_conditions=True)
    assert statics.shape == (2, 0) and conds == ["slow", "slow"]


def test_windows_output_returns_the_conditions_with_return_conditions(tmp_path):
    cond_frame().to_csv(tmp_path / "c.csv", index=False)
    m = timegan.TimeGAN(**LONG, condition="class").fit(str(tmp_path / "c.csv"), id_column="id", columns=["value"])
    w = m.sample(4, seed=1, condition="fast")
    assert w.shape == (4, 6, 1)
    w2, conds = m.sample(4, seed=1, condition="fast", return_conditions=True)
    np.testing.assert_array_equal(w, w2)
    assert conds == ["fast"] * 4


def test_numeric_condition_and_categorical_numbers():
    df = cond_frame()[["id", "value", "dose"]]
    m = timegan.TimeGAN(**LONG, condition="dose").fit(df, id_column="id")
    assert m.condition_["kind"] == "numeric" and (m.condition_["min"], m.condition_["max"]) == (1, 4)
    s, conds = m.sample(2, seed=1, condition=[2.5, 4], return_conditions=True)
    assert conds == [2.5, 2.5, 4.0, 4.0]
    assert s["dose"].dtype == np.float64 and per_sequence(s, "dose") == conds
    drawn = per_sequence(m.sample(30, seed=3), "dose")
    assert set(drawn) <= {1.0, 2.0, 3.0, 4.0}
    # categorical=[dose]: the numbers are labels, one-hot
    c = timegan.TimeGAN(**LONG, condition="dose", categorical=["dose"]).fit(df, id_column="id")
    assert c.condition_["kind"] == "categorical" and c.condition_["labels"] == ["1", "2", "3", "4"]
    assert c.config_["model"]["condition_dim"] == 4
    assert per_sequence(c.sample(2, seed=1, condition=3), "dose") == ["3", "3"]
    with pytest.raises(ValueError) as e:
        c.sample(2, condition=2.5)
    assert str(e.value) == 'condition: condition \'dose\': unknown label "2.5" (the model knows: 1, 2, 3, 4)'


def test_labels_with_commas_through_the_list_api():
    df = cond_frame()[["id", "value", "class"]]
    df["class"] = df["class"].map({"fast": "fast, very", "slow": "slow"})
    m = timegan.TimeGAN(**LONG, condition="class").fit(df, id_column="id")
    assert m.condition_["labels"] == ["fast, very", "slow"]
    assert per_sequence(m.sample(2, seed=1, condition="fast, very"), "class") == ["fast, very"] * 2
    each, conds = m.sample(seed=1, conditions=["slow", "fast, very"], return_conditions=True)
    assert conds == ["slow", "fast, very"] and per_sequence(each, "class") == conds


def test_generation_errors_are_one_line_value_errors():
    df = cond_frame()
    labels = timegan.TimeGAN(**LONG, condition="class").fit(df[["id", "value", "class"]], id_column="id")
    numeric = timegan.TimeGAN(**LONG, condition="dose").fit(df[["id", "value", "dose"]], id_column="id")
    plain = timegan.TimeGAN(**LONG).fit(df[["id", "value"]], id_column="id")
    with pytest.raises(ValueError) as e:
        labels.sample(2, condition="medium")
    assert str(e.value) == 'condition: condition \'class\': unknown label "medium" (the model knows: fast, slow)'
    with pytest.raises(ValueError) as e:
        labels.sample(conditions=["fast", "slow", "Fast"])
    assert str(e.value) == 'conditions[2]: condition \'class\': unknown label "Fast" (the model knows: fast, slow)'
    with pytest.raises(ValueError) as e:
        numeric.sample(2, condition=9)
    assert str(e.value) == ("condition: condition 'dose': value 9 is outside the training range [1, 4] "
                            "(a numeric condition is not extrapolated)")
    with pytest.raises(ValueError) as e:
        numeric.sample(2, condition="heavy")
    assert str(e.value) == "condition: condition 'dose': not a number: \"heavy\""
    with pytest.raises(ValueError) as e:
        plain.sample(2, condition="fast")
    assert str(e.value) == ("condition: the model was trained without a condition (TimeGAN(condition=...)); "
                            "it cannot generate for one")
    with pytest.raises(ValueError, match="conditions: the model was trained without a condition"):
        plain.sample(conditions=["fast"])
    assert plain.sample(2, return_conditions=True)[1] == []
    with pytest.raises(ValueError, match="give either condition= or conditions="):
        labels.sample(2, condition="fast", conditions=["fast"])
    with pytest.raises(ValueError, match="conditions= gives the number of sequences"):
        labels.sample(2, conditions=["fast"])
    with pytest.raises(ValueError, match="conditions: no values"):
        labels.sample(conditions=[])


def test_training_errors_are_the_clis_one_line_messages():
    df = cond_frame()[["id", "value", "class"]]
    changed = df.copy()
    changed.loc[2, "class"] = "fast"  # row 2 = line 4 of the frame's CSV, inside sequence s0
    with pytest.raises(ValueError) as e:
        timegan.TimeGAN(**LONG, condition="class").fit(changed, id_column="id")
    assert str(e.value) == ("DataFrame:4: condition column 'class': value \"fast\" differs from \"slow\" earlier in "
                            "sequence 's0' (a condition is constant within a sequence)")
    gap = df.copy()
    gap.loc[7, "class"] = None
    with pytest.raises(ValueError) as e:
        timegan.TimeGAN(**LONG, condition="class").fit(gap, id_column="id")
    assert str(e.value) == "DataFrame:9: condition column 'class': empty field (a condition needs a value in every row)"
    dose = cond_frame()[["id", "value", "dose"]].astype({"dose": float})
    dose.loc[3, "dose"] = np.nan
    with pytest.raises(ValueError, match=r"^DataFrame:5: condition column 'dose': empty field"):
        timegan.TimeGAN(**LONG, condition="dose", missing="mask").fit(dose, id_column="id")
    with pytest.raises(ValueError, match="unknown condition column 'nope'"):
        timegan.TimeGAN(**LONG, condition="nope").fit(df, id_column="id")
    with pytest.raises(ValueError, match="condition column 'class' needs long format"):
        timegan.TimeGAN(**TINY, condition="class").fit(df.drop(columns="id"))
    with pytest.raises(ValueError, match="condition: applies to long-format data"):
        timegan.TimeGAN(**TINY, condition="class").fit(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="condition: 'dose' is also a static column"):
        timegan.TimeGAN(**LONG, condition="dose", static_columns=["dose"]).fit(cond_frame(), id_column="id")
    with pytest.raises(ValueError, match="no column left besides the condition column 'class'"):
        timegan.TimeGAN(**LONG, condition="class").fit(df[["id", "class"]], id_column="id")


def test_save_load_round_trip(tmp_path):
    df = cond_frame()[["id", "value", "class"]]
    m = timegan.TimeGAN(**LONG, condition="class").fit(df, id_column="id")
    m.save(tmp_path / "run")
    back = timegan.TimeGAN.load(tmp_path / "run")
    assert back.condition == "class" and back.condition_ == m.condition_
    pd.testing.assert_frame_equal(back.sample(3, seed=5, condition=["fast", "slow"]),
                                  m.sample(3, seed=5, condition=["fast", "slow"]))
    pd.testing.assert_frame_equal(back.sample(6, seed=5), m.sample(6, seed=5))


def test_evaluate_reports_the_per_condition_scores(tmp_path, cli):
    df = cond_frame()[["id", "value", "class"]]
    df.to_csv(tmp_path / "c.csv", index=False)
    m = timegan.TimeGAN(**LONG, condition="class").fit(str(tmp_path / "c.csv"), id_column="id")
    m.save(tmp_path / "run")
    opts = dict(repeats=1, metric_iterations=3, tsne_iterations=5, seed=2)
    ours = timegan.evaluate(str(tmp_path / "c.csv"), m, **opts)
    c = ours["conditions"]
    assert c["column"] == "class" and c["kind"] == "categorical"
    assert [g["condition"] for g in c["groups"]] == ["fast", "slow"]
    assert [(g["real_sequences"], g["synthetic_sequences"]) for g in c["groups"]] == [(12, 12), (12, 12)]
    assert all("discriminative" in g and "predictive" in g for g in c["groups"])
    cli("evaluate", "--model", tmp_path / "run", "--repeats", 1, "--metric-iterations", 3, "--tsne-iterations", 5,
        "--seed", 2, "--out", tmp_path / "rep", "--quiet")
    assert ours["conditions"] == json.loads((tmp_path / "rep" / "metrics.json").read_text())["conditions"]
    # A synthetic CSV with the condition column, and the same sequences as a DataFrame and as
    # (windows, conditions): the same per-condition scores.
    cli("generate", "--model", tmp_path / "run", "--n", 24, "--seed", 2, "--out", tmp_path / "g.csv", "--quiet")
    from_file = timegan.evaluate(str(tmp_path / "c.csv"), str(tmp_path / "g.csv"), id_column="id", condition="class",
                                 **opts)
    assert sum(g["synthetic_sequences"] for g in from_file["conditions"]["groups"]) == 24
    g = pd.read_csv(tmp_path / "g.csv")
    from_frame = timegan.evaluate(str(tmp_path / "c.csv"), g, id_column="id", condition="class", **opts)
    assert from_frame["conditions"] == from_file["conditions"]
    windows = g["value"].to_numpy().reshape(24, 6, 1)
    conds = g.groupby("sequence_id")["class"].first().tolist()
    from_pair = timegan.evaluate(str(tmp_path / "c.csv"), (windows, conds), id_column="id", condition="class", **opts)
    assert from_pair["conditions"] == from_file["conditions"]


def test_cli_and_python_give_the_same_bytes(tmp_path, cli):
    """The same CSV and seed through the CLI and through a DataFrame: the same run and the same
    generated CSV for a chosen condition, byte for byte; Python's sample holds the same values."""
    df = cond_frame()
    df.to_csv(tmp_path / "c.csv", index=False)
    cli("train", "--data", tmp_path / "c.csv", "--condition", "class", "--columns", "value", *CLI_TINY, "--seed", 4,
        "--sample", 0, "--out", tmp_path / "cli", "--quiet")
    read = pd.read_csv(tmp_path / "c.csv")
    m = timegan.TimeGAN(**{**LONG, "seed": 4}, condition="class").fit(read, id_column="id", columns=["value"])
    m.save(tmp_path / "py")
    cli_cfg = json.loads((tmp_path / "cli" / "config.json").read_text())
    assert m.config_["model"] == cli_cfg["model"]
    assert m.config_["output_map"] == cli_cfg["output_map"]
    assert m.config_["data_fingerprint"] == cli_cfg["data_fingerprint"]
    assert m.config_["condition_fingerprint"] == cli_cfg["condition_fingerprint"]
    for run in ("cli", "py"):
        cli("generate", "--model", tmp_path / run, "--n", 5, "--seed", 3, "--condition", "fast", "--out",
            tmp_path / f"{run}.csv", "--quiet")
    assert (tmp_path / "cli.csv").read_bytes() == (tmp_path / "py.csv").read_bytes()
    theirs = pd.read_csv(tmp_path / "cli.csv")
    ours = m.sample(5, seed=3, condition="fast")
    assert list(ours.columns) == list(theirs.columns) == ["sequence_id", "t", "value", "class"]
    np.testing.assert_array_equal(ours[["sequence_id", "t", "value"]].to_numpy(dtype=np.float64),
                                  theirs[["sequence_id", "t", "value"]].to_numpy(dtype=np.float64))
    assert ours["class"].tolist() == theirs["class"].tolist()
    # Drawn conditions (no condition given): the same draw through both.
    cli("generate", "--model", tmp_path / "py", "--n", 9, "--seed", 6, "--out", tmp_path / "drawn.csv", "--quiet")
    drawn = pd.read_csv(tmp_path / "drawn.csv")
    pd.testing.assert_frame_equal(m.sample(9, seed=6), drawn)
    # The path API: the CLI's data options and run.
    p = timegan.TimeGAN(**{**LONG, "seed": 4}, condition="class").fit(str(tmp_path / "c.csv"), id_column="id",
                                                                     columns=["value"])
    assert p.config_["data"] == cli_cfg["data"]
    assert p.config_["condition_fingerprint"] == cli_cfg["condition_fingerprint"]
    w, conds = p.sample(5, seed=3, condition="fast", return_conditions=True)
    np.testing.assert_array_equal(w.reshape(-1), theirs["value"].to_numpy())
    assert conds == ["fast"] * 5


def test_cli_run_loaded_in_python_generates_what_the_cli_generates(tmp_path, cli):
    cond_frame().to_csv(tmp_path / "c.csv", index=False)
    cli("train", "--data", tmp_path / "c.csv", "--condition", "class", "--columns", "value", *CLI_TINY, "--seed", 2,
        "--sample", 0, "--out", tmp_path / "run", "--quiet")
    m = timegan.TimeGAN.load(tmp_path / "run")
    assert m.condition == "class"
    cli("generate", "--model", tmp_path / "run", "--n", 3, "--seed", 7, "--condition", "slow,fast", "--out",
        tmp_path / "g.csv", "--quiet")
    theirs = np.loadtxt(tmp_path / "g.csv", delimiter=",", skiprows=1, usecols=(0, 1, 2))
    w, conds = m.sample(3, seed=7, condition=["slow", "fast"], return_conditions=True)
    np.testing.assert_array_equal(w.reshape(-1), theirs[:, 2])
    assert conds == pd.read_csv(tmp_path / "g.csv").groupby("sequence_id")["class"].first().tolist()
    # --condition-file and conditions=[...]: one sequence per entry
    (tmp_path / "want.csv").write_text("class\nfast\nslow\nslow\nfast\n")
    cli("generate", "--model", tmp_path / "run", "--seed", 8, "--condition-file", tmp_path / "want.csv", "--out",
        tmp_path / "f.csv", "--quiet")
    theirs = np.loadtxt(tmp_path / "f.csv", delimiter=",", skiprows=1, usecols=(0, 1, 2))
    w, conds = m.sample(seed=8, conditions=["fast", "slow", "slow", "fast"], return_conditions=True)
    np.testing.assert_array_equal(w.reshape(-1), theirs[:, 2])
    assert conds == ["fast", "slow", "slow", "fast"]
    # A numeric condition through both.
    cli("train", "--data", tmp_path / "c.csv", "--condition", "dose", "--columns", "value", *CLI_TINY, "--seed", 2,
        "--sample", 0, "--out", tmp_path / "num", "--quiet")
    cli("generate", "--model", tmp_path / "num", "--n", 2, "--seed", 1, "--condition", "2.5", "--out",
        tmp_path / "n.csv", "--quiet")
    theirs = np.loadtxt(tmp_path / "n.csv", delimiter=",", skiprows=1)
    w, conds = timegan.TimeGAN.load(tmp_path / "num").sample(2, seed=1, condition=2.5, return_conditions=True)
    np.testing.assert_array_equal(w.reshape(-1), theirs[:, 2])
    assert conds == [2.5, 2.5] and (theirs[:, 3] == 2.5).all()


def test_resume_refuses_changed_conditions():
    df = cond_frame()[["id", "value", "class"]]
    params = {**LONG, "iterations": 3, "condition": "class"}
    reference = timegan.TimeGAN(**params).fit(df, id_column="id")
    m = timegan.TimeGAN(**params, max_time=1e-9).fit(df, id_column="id")
    assert not m.is_fitted_
    m.max_time = None
    changed = df.copy()
    changed.loc[changed["id"] == "s3", "class"] = "slow"
    with pytest.raises(ValueError, match="the conditions differ from those the run started with; cannot resume"):
        m.fit(changed, id_column="id", resume=True)
    m.fit(df, id_column="id", resume=True)
    pd.testing.assert_frame_equal(m.sample(4, seed=0, condition="fast"), reference.sample(4, seed=0, condition="fast"))
