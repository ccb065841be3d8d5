"""Length calibration: the <eos> penalty is chosen by validation BLEU, stored once, and used by evaluation."""

from dataclasses import replace

import pytest
import torch

from seq2seq_lib import calibration
from seq2seq_lib.calibration import calibrate_checkpoint
from seq2seq_lib.checkpoints import load_model, read_checkpoint
from seq2seq_lib.config import END_WHEN_PARSES, DecodingConfig, load_config, profile_config_path
from seq2seq_lib.errors import UserError
from seq2seq_lib.evaluation import validation_scores
from seq2seq_lib.experiment import RunPaths, prepare_training_data
from seq2seq_lib.io_utils import read_json
from seq2seq_lib.training import train_model

GRID = [0.0, 1.5, 4.0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny attention model trained for two epochs, with its validation records."""
    root = tmp_path_factory.mktemp("calibration")
    config = load_config(profile_config_path("smoke"), {
        "profile": "unit", "data.max_train_pairs": 96, "data.max_valid_pairs": 24, "data.max_tgt_len": 60,
        "data.src_vocab_size": 200, "data.tgt_vocab_size": 200, "model.emb_dim": 16, "model.hidden_dim": 16,
        "training.epochs": 2, "decoding.method": "greedy", "decoding.max_len": 40, "decoding.eos_penalty_grid": GRID,
        "decoding.calibration_pairs": 12,
    })
    data = prepare_training_data(config, RunPaths(root, config.profile, config.seed))
    result = train_model("attention", config, data, root / "attention", progress=False)
    return config, result.best_checkpoint, data.valid_records[:12]


def test_the_penalty_with_the_best_validation_bleu_is_stored(trained, monkeypatch):
    config, path, records = trained
    chosen = calibrate_checkpoint(path, config, records, "cpu")
    assert list(chosen["valid_bleu"]) == ["0.0", "1.5", "4.0"] and chosen["key"] == config.decoding.calibration_key()
    product = {p: b * chosen["valid_parses"][p] for p, b in chosen["valid_bleu"].items()}
    best = max(product.values())
    assert chosen["eos_penalty"] == min(float(p) for p, v in product.items() if v == best)
    loaded = load_model(path)
    assert loaded.calibrations == [chosen]
    decoding = config.decoding.calibrated(loaded.calibrations)
    assert decoding.eos_penalty == chosen["eos_penalty"]
    again = validation_scores(loaded.model, loaded.preprocessor, records, decoding, "cpu")
    key = str(chosen["eos_penalty"])
    expected = {"bleu": chosen["valid_bleu"][key], "parses": chosen["valid_parses"][key], "parsing_bleu": chosen["valid_parsing_bleu"][key]}
    assert {k: again[k] for k in expected} == pytest.approx(expected) and again["parsing_bleu"] <= again["bleu"] + 1e-9
    assert again["compiles"] == pytest.approx(chosen["valid_compiles"][key])

    def fail(*args, **kwargs):
        raise AssertionError("recalibrated although the settings did not change")

    monkeypatch.setattr(calibration, "calibrate", fail)
    assert calibrate_checkpoint(path, config, records, "cpu") == chosen
    monkeypatch.undo()


def test_other_decoding_settings_get_their_own_calibration(trained):
    config, path, records = trained
    first = calibrate_checkpoint(path, config, records, "cpu")
    unblocked = DecodingConfig(**{**vars(config.decoding), "no_repeat_ngram": 3})
    regridded = DecodingConfig(**{**vars(config.decoding), "eos_penalty_grid": [0.0, 2.0]})
    assert calibrate_checkpoint(path, replace(config, decoding=unblocked), records, "cpu")["key"]["no_repeat_ngram"] == 3
    assert list(calibrate_checkpoint(path, replace(config, decoding=regridded), records, "cpu")["valid_bleu"]) == ["0.0", "2.0"]
    stored = read_checkpoint(path)["calibrations"]
    assert len(stored) == 3 and stored[0] == first  # the first settings' choice is kept, not overwritten
    assert config.decoding.matching_calibration(stored) == first
    assert unblocked.matching_calibration(stored)["key"]["no_repeat_ngram"] == 3


def test_the_calibration_objective_decides_between_length_and_working_code(trained, monkeypatch):
    config, path, records = trained
    table = {0.0: (5.0, 0.9, 2.0), 1.5: (8.0, 0.8, 1.5), 4.0: (9.0, 0.3, 1.0)}  # BLEU, parse share, parsing BLEU
    monkeypatch.setattr(calibration, "validation_scores", lambda model, pre, recs, decoding, device, scorer=None: dict(
        zip(("bleu", "parses", "parsing_bleu"), table[decoding.eos_penalty]), compiles=1.0))
    loaded = load_model(path)

    def choose(**options):
        return calibration.calibrate(loaded.model, loaded.preprocessor, records, replace(config.decoding, **options), "cpu")

    assert choose()["eos_penalty"] == 1.5  # BLEU x parses: 4.5, 6.4, 2.7
    by_code = choose(calibrate_by="parsing_bleu")
    assert by_code["eos_penalty"] == 0.0 and by_code["key"]["calibrate_by"] == "parsing_bleu"
    assert "calibrate_by" not in config.decoding.calibration_key()
    with pytest.raises(UserError, match="calibrate_by"):
        choose(calibrate_by="bleu")


def test_the_selection_scalar_chooses_the_search_per_model(trained, monkeypatch):
    config, path, records = trained
    # (method, penalty) -> (BLEU, length-matched chrF gain, compile share): BLEU would pick greedy 4.0
    table = {("greedy", 0.0): (5.0, 1.0, 0.9), ("greedy", 4.0): (9.0, 0.2, 0.9),
             ("beam", 0.0): (6.0, 2.0, 0.8), ("beam", 4.0): (8.0, 1.5, 0.7)}
    scorers = []

    def scores(model, pre, recs, decoding, device, scorer=None):
        scorers.append(scorer)
        bleu, gain, compiles = table[(decoding.method, decoding.eos_penalty)]
        return {"bleu": bleu, "parses": 1.0, "parsing_bleu": bleu, "compiles": compiles, "chrf": 10.0, "chrf_gain": gain}

    monkeypatch.setattr(calibration, "validation_scores", scores)
    loaded = load_model(path)
    decoding = replace(config.decoding, method_grid=["greedy", "beam"], eos_penalty_grid=[0.0, 4.0],
                       calibrate_by="chrf_gain_x_compiles")
    chosen = calibration.calibrate(loaded.model, loaded.preprocessor, records, decoding, "cpu")
    assert (chosen["method"], chosen["eos_penalty"]) == ("beam", 0.0)  # gain x compiles: 0.9, 0.18, 1.6, 1.05
    assert set(chosen["valid_chrf_gain"]) == {"greedy 0.0", "greedy 4.0", "beam 0.0", "beam 4.0"}
    assert all(s is scorers[0] and s is not None for s in scorers)  # one scorer of the validation pairs for all
    assert chosen["key"]["method"] == ["beam", "greedy"] and "method_grid" not in chosen["key"]
    assert decoding.calibrated([chosen]).method == "beam"
    assert "beam search, <eos> penalty 0.0" in calibration.calibration_report(chosen)[0]
    assert "chrF gain 2.00 x compiles 0.80" in calibration.calibration_report(chosen)[0]


def test_a_wider_grid_decodes_only_its_new_candidates(trained, monkeypatch, tmp_path):
    import shutil

    config, path, records = trained
    copy = tmp_path / "checkpoint.pt"
    shutil.copy(path, copy)
    decoded = []

    def scores(model, pre, recs, decoding, device, scorer=None):
        decoded.append((decoding.method, decoding.eos_penalty))
        return {"bleu": 1.0, "parses": 1.0, "parsing_bleu": 1.0, "compiles": 1.0, "chrf": 5.0, "chrf_gain": decoding.eos_penalty}

    monkeypatch.setattr(calibration, "validation_scores", scores)
    narrow = replace(config.decoding, method_grid=["greedy", "beam"], eos_penalty_grid=[0.0, 4.0], calibrate_by="chrf_gain_x_compiles")
    calibrate_checkpoint(copy, replace(config, decoding=narrow), records, "cpu")
    assert len(decoded) == 4
    wide = replace(narrow, eos_penalty_grid=[0.0, 4.0, 6.0])
    chosen = calibrate_checkpoint(copy, replace(config, decoding=wide), records, "cpu")
    assert decoded[4:] == [("beam", 6.0), ("greedy", 6.0)]  # the four candidates measured before are reused
    assert chosen["eos_penalty"] == 6.0 and len(chosen["valid_chrf_gain"]) == 6
    other = replace(wide, max_len=30, eos_penalty_grid=[0.0, 4.0, 6.0, 8.0])  # other settings: nothing reused
    calibrate_checkpoint(copy, replace(config, decoding=other), records, "cpu")
    assert len(decoded) == 6 + 8


def test_without_a_grid_nothing_is_calibrated(trained):
    config, path, records = trained
    plain = DecodingConfig(eos_penalty=0.7)
    assert calibrate_checkpoint(path, replace(config, decoding=plain), records, "cpu") is None
    other = {"eos_penalty": 3.0, "key": DecodingConfig(eos_penalty_grid=[0.0, 3.0]).calibration_key()}
    assert plain.calibrated([other]) is plain
    assert DecodingConfig(eos_penalty_grid=[0.0, 3.0]).calibrated([other]).eos_penalty == 3.0
    assert DecodingConfig(eos_penalty_grid=[0.0, 3.0], max_len=10).calibrated([other]).eos_penalty == 0.0
    assert "eos_penalty_grid" not in plain.search_options() and plain.search_options()["eos_penalty"] == 0.7


SYNTAX_OPTIONS = [  # option, its calibration-key value, the decode() argument it supplies, what that argument does
    ("end_when_parses", END_WHEN_PARSES, "can_end",
     lambda can_end, pre: can_end(pre.encode_tgt("def f(x):\n    return x\n")) and not can_end(pre.encode_tgt("def f(x):\n"))),
    ("syntax_guard", True, "guard", lambda guard, pre: guard is pre.syntax_guard and guard.itos == pre.tgt_vocab.itos),
]


@pytest.mark.parametrize(("option", "key_value", "argument", "works"), SYNTAX_OPTIONS)
def test_syntax_options_are_search_options_with_their_own_calibrations(trained, option, key_value, argument, works):
    _, path, _ = trained
    pre = load_model(path).preprocessor
    plain, checked = DecodingConfig(eos_penalty_grid=[0.0, 3.0]), DecodingConfig(eos_penalty_grid=[0.0, 3.0], **{option: True})
    assert option not in plain.calibration_key()  # keys stored before the option existed still match
    assert checked.calibration_key() == {**plain.calibration_key(), option: key_value}
    assert argument not in plain.search_options(pre) and option not in checked.search_options(pre)
    assert works(checked.search_options(pre)[argument], pre)


def test_evaluation_calibrates_a_local_checkpoint_and_never_rewrites_shipped_weights(smoke_run, tmp_path, capsys, monkeypatch):
    from seq2seq_lib import evaluation

    config = load_config(profile_config_path("smoke"), {"decoding.eos_penalty_grid": [0.0, 1.0], "decoding.max_len": 10})
    local = evaluation.run_paths(config).model_dir("attention") / "checkpoint.pt"
    shipped = tmp_path / "weights" / "attention.pt"
    shipped.parent.mkdir()
    shipped.write_bytes(local.read_bytes())
    monkeypatch.setattr(evaluation, "find_model_checkpoint", lambda run_dir, name, profile: shipped)
    evaluation.evaluate_models(config, ["attention"], split="valid", max_examples=4, out_dir=tmp_path / "shipped", baselines=False)
    assert "no <eos> calibration for these decoding settings" in capsys.readouterr().out
    assert shipped.read_bytes() == local.read_bytes()
    saved = (tmp_path / "shipped" / "attention" / "evaluation_results.json").read_text()
    assert '"calibration": null' in saved and '"eos_penalty": 0.0' in saved

    monkeypatch.undo()
    evaluation.evaluate_models(config, ["attention"], split="valid", max_examples=4, out_dir=tmp_path / "local", baselines=False)
    assert "calibrating the <eos> penalty" in capsys.readouterr().out
    stored = config.decoding.matching_calibration(read_checkpoint(local)["calibrations"])
    assert stored is not None and set(stored["valid_bleu"]) == {"0.0", "1.0"}
    saved = read_json(tmp_path / "local" / "attention" / "evaluation_results.json")
    assert saved["calibration"] == stored and saved["decoding"]["eos_penalty"] == stored["eos_penalty"]


def test_a_penalty_at_the_top_of_the_grid_gets_a_notice():
    scores = {"0.0": 1.0, "2.0": 3.0, "5.0": 4.0}
    assert calibration.grid_edge_notice({"eos_penalty": 2.0, "valid_bleu": scores}) is None
    notice = calibration.grid_edge_notice({"eos_penalty": 5.0, "valid_bleu": scores})
    assert "5.0 is the largest" in notice and "decoding.eos_penalty_grid" in notice and "\n" not in notice
    assert calibration.grid_edge_notice({"eos_penalty": 5.0, "valid_bleu": {"5.0": 4.0}}) is None


def test_the_calibration_report_lists_the_best_candidates_and_the_notice():
    chosen = {"eos_penalty": 5.0, "valid_bleu": {"0.0": 1.0, "5.0": 4.0}, "valid_parses": {"0.0": 0.9, "5.0": 0.5}}
    first, note = calibration.calibration_report(chosen)
    assert first == "<eos> penalty 5.0 chosen on validation (5.0: BLEU 4.00 x parses 0.50, 0.0: BLEU 1.00 x parses 0.90)"
    assert note == f"note: {calibration.grid_edge_notice(chosen)}"
    inside = {**chosen, "eos_penalty": 0.0, "valid_parsing_bleu": {"0.0": 0.5, "5.0": 0.25}}
    assert calibration.calibration_report(inside) == [
        "<eos> penalty 0.0 chosen on validation (5.0: BLEU 4.00 x parses 0.50 (parsing outputs 0.25), "
        "0.0: BLEU 1.00 x parses 0.90 (parsing outputs 0.50))"
    ]
    labels = [f"{p}/1.0/1.0" for p in range(10)]
    aimed = {"eos_penalty": 9.0, "eos_bonus": 1.0, "target_scale": 1.0,
             "valid_bleu": {label: float(i) for i, label in enumerate(labels)}, "valid_parses": dict.fromkeys(labels, 1.0)}
    first, note = calibration.calibration_report(aimed, shown=2)
    assert first == ("<eos> penalty 9.0, bonus 1.0, target scale 1.0 chosen on validation "
                     "(9/1.0/1.0: BLEU 9.00 x parses 1.00, 8/1.0/1.0: BLEU 8.00 x parses 1.00; best 2 of 10 by BLEU x parses)")
    assert "9.0 is the largest" in note


def test_length_targets_are_calibrated_over_every_combination_with_a_fitted_length_model(trained):
    config, path, records = trained
    assert load_model(path).preprocessor.length_model is None
    aimed = replace(config, decoding=replace(
        config.decoding, length_target=True, eos_penalty_grid=[0.0, 3.0], eos_bonus_grid=[0.0, 2.0], target_scale_grid=[1.0]))
    chosen = calibrate_checkpoint(path, aimed, records, "cpu")
    assert list(chosen["valid_bleu"]) == ["0.0", "3.0", "0.0/0.0/1.0", "0.0/2.0/1.0", "3.0/0.0/1.0", "3.0/2.0/1.0"]
    assert chosen["key"]["length_target"] == {"eos_bonus_grid": [0.0, 2.0], "target_scale_grid": [1.0]}
    assert "length_target" not in config.decoding.calibration_key()
    loaded = load_model(path)
    assert loaded.preprocessor.length_model is not None  # fitted on the training split, stored with the model
    decoding = replace(aimed.decoding.calibrated(loaded.calibrations), length_target=True, eos_bonus=2.0)
    options = decoding.search_options(loaded.preprocessor)
    assert options["eos_bonus"] == 2.0 and "length_target" not in options
    src = torch.tensor([loaded.preprocessor.encode_src(records[0]["func_documentation_string"])])
    predicted = loaded.preprocessor.length_model.predict(src, torch.tensor([src.size(1)]))
    assert options["target_length"](src, torch.tensor([src.size(1)])) == pytest.approx(decoding.target_scale * predicted)
    assert "target_length" not in config.decoding.search_options(loaded.preprocessor)
    assert "eos_bonus" not in config.decoding.search_options(loaded.preprocessor)


def test_aiming_at_the_predicted_length_competes_with_one_penalty_throughout(trained, monkeypatch):
    config, path, records = trained
    loaded = load_model(path)
    loaded.preprocessor.fit_length_model(records)
    aimed = replace(config.decoding, length_target=True, eos_penalty_grid=[0.0, 3.0], eos_bonus_grid=[1.0])

    def choose(table):
        monkeypatch.setattr(calibration, "validation_scores", lambda model, pre, recs, decoding, device, scorer=None: {
            "bleu": table[(decoding.length_target, decoding.eos_penalty)], "parses": 1.0, "parsing_bleu": 0.0, "compiles": 1.0})
        chosen = calibration.calibrate(loaded.model, loaded.preprocessor, records, aimed, "cpu")
        chosen["key"] = aimed.calibration_key()
        return chosen, aimed.calibrated([chosen])

    chosen, decoding = choose({(False, 0.0): 1.0, (False, 3.0): 5.0, (True, 0.0): 2.0, (True, 3.0): 4.0})
    assert (chosen["eos_penalty"], chosen["length_target"]) == (3.0, False) and "eos_bonus" not in chosen
    assert not decoding.length_target and "target_length" not in decoding.search_options(loaded.preprocessor)
    assert "no length target" in calibration.calibration_report(chosen)[0]
    chosen, decoding = choose({(False, 0.0): 1.0, (False, 3.0): 4.0, (True, 0.0): 2.0, (True, 3.0): 5.0})
    assert (chosen["eos_penalty"], chosen["eos_bonus"], chosen["length_target"]) == (3.0, 1.0, True)
    assert decoding.length_target and decoding.eos_bonus == 1.0 and "target_length" in decoding.search_options(loaded.preprocessor)
    _, decoding = choose({(False, 0.0): 1.0, (False, 3.0): 4.0, (True, 0.0): 2.0, (True, 3.0): 4.0})
    assert not decoding.length_target  # on a tie the simpler decoding wins


def test_evaluation_decodes_with_the_length_model_its_own_calibration_just_fitted(smoke_run, tmp_path, monkeypatch):
    """A checkpoint trained without calibration (`ablate --stage train`) gets its length model when evaluation
    calibrates it, and the outputs of that same evaluation already aim at the predicted lengths."""
    import shutil

    from seq2seq_lib import evaluation
    from seq2seq_lib.checkpoints import save_checkpoint

    config = load_config(profile_config_path("smoke"), {
        "profile": "unit-fresh-checkpoint", "decoding.method": "greedy", "decoding.max_len": 40,
        "decoding.length_target": True, "decoding.eos_penalty_grid": [6.0], "decoding.eos_bonus_grid": [8.0],
        "decoding.target_scale_grid": [0.2], "decoding.calibration_pairs": 4,
    })
    payload = read_checkpoint(evaluation.run_paths(smoke_run).model_dir("attention") / "checkpoint.pt")
    payload["preprocessor"].pop("length_model", None)
    payload["calibrations"] = []
    fresh = evaluation.run_paths(config).model_dir("attention") / "checkpoint.pt"
    save_checkpoint(fresh, payload)
    monkeypatch.setattr(calibration, "validation_scores", lambda model, pre, recs, decoding, device, scorer=None: {
        "bleu": 2.0 if decoding.length_target else 1.0, "parses": 1.0, "parsing_bleu": 0.0, "compiles": 1.0})  # aiming wins
    try:
        outputs = {}
        for run in ("calibrating", "calibrated"):
            evaluation.evaluate_models(config, ["attention"], split="valid", max_examples=6, out_dir=tmp_path / run, baselines=False)
            saved = read_json(tmp_path / run / "attention" / "evaluation_results.json")
            assert saved["decoding"]["length_target"] and saved["decoding"]["eos_bonus"] == 8.0
            outputs[run] = [e["generated"] for e in saved["examples"]]
        assert load_model(fresh).preprocessor.length_model is not None
        assert outputs["calibrating"] == outputs["calibrated"]
    finally:
        shutil.rmtree(evaluation.run_paths(config).run_dir)
