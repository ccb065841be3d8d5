"""The comparison notebook's written conclusions and tables follow the numbers they are given."""

from seq2seq_lib.io_utils import write_json
from seq2seq_lib.course.notebook_helpers import (
    describe_comparison,
    describe_decoding,
    describe_model,
    position_frame,
    profiles_frame,
    significance_frame,
)


def summary(system: str, chrf: float, gain: float, compiles: float = 0.8, width: float = 0.5, **extra) -> dict:
    """A results summary as evaluate_models writes it (only the fields the text reads)."""
    metrics = {"chrf": chrf, "chrf_gain": gain, "chrf_gain_plain": gain + 0.3, "bleu": extra.pop("bleu", chrf / 2),
               "bleu_no_layout": extra.pop("bleu_no_layout", chrf / 5), "bleu_gain": gain / 2, "bleu_gain_plain": gain / 2 + 0.1,
               "compiles": compiles, "distinct_share": extra.pop("distinct", 0.9), "length_ratio": 1.0}
    ci = {"chrf": [chrf - width, chrf + width], "chrf_gain": [gain - width, gain + width]}
    return {"system": system, "metrics": metrics, "ci95": ci, **extra}


def bootstrap(a: float, b: float, low: float, high: float) -> dict:
    return {"metric_a": a, "metric_b": b, "delta": a - b, "delta_low": low, "delta_high": high, "win_rate": 1.0}


SUMMARIES = [
    summary("rnn", 14.2, 0.1, compiles=0.1, loss_true=3.5, loss_shuffled=3.55, parameters=100, sentences_per_second=50.0,
            loss_rise_by_position={"1-5": 0.09, "61+": 0.0},
            calibration={"method": "greedy"}, decoding={"method": "greedy", "max_len": 400, "eos_penalty": 2.0}),
    summary("attention", 15.5, 3.0, compiles=0.85, loss_true=3.1, loss_shuffled=3.6, parameters=300,
            loss_rise_by_position={"1-5": 1.07, "61+": 0.17},
            sentences_per_second=20.0, calibration={"method": "beam"},
            decoding={"method": "beam", "beam_width": 5, "max_len": 400, "syntax_guard": True}),
    summary("retrieval", 14.1, 2.4, compiles=1.0),
    summary("constant (chrF)", 14.3, 0.0, compiles=1.0, width=0.2),
    summary("constant (BLEU)", 12.0, 0.0, compiles=1.0, bleu=10.9, bleu_no_layout=3.1),
]
SIGNIFICANCE = {
    "rnn vs attention": {"chrf": bootstrap(14.2, 15.5, -1.6, -1.0), "chrf_gain": bootstrap(0.1, 3.0, -3.3, -2.5)},
    "attention vs retrieval": {"chrf": bootstrap(15.5, 14.1, 1.0, 1.8), "chrf_gain": bootstrap(3.0, 2.4, -0.1, 1.3)},
    "retrieval vs constant (chrF)": {"chrf": bootstrap(14.1, 14.3, -0.5, 0.1), "chrf_gain": bootstrap(2.4, 0.0, 2.0, 2.8)},
}


def test_conclusions_rank_by_gain_and_compare_with_the_baselines():
    text = describe_comparison(SUMMARIES, SIGNIFICANCE, ["rnn", "attention"])
    assert "attention (3.00) > rnn (0.10)" in text
    assert "**rnn vs attention:** gain difference -2.90 (95% CI -3.30 to -2.50), significant at the 5% level" in text
    assert "**attention vs retrieval:** gain difference +0.60 (95% CI -0.10 to +1.30), not significant" in text
    assert "retrieval vs constant" not in text  # only pairs with a model
    assert "by chrF, attention above, rnn level with" in text  # the constant: 14.3 +- 0.2 against 15.5 and 14.2 +- 0.5
    assert "A score that one constant function reaches says nothing" in text
    assert "by the gain, attention level with, rnn below" in text
    assert "constant chosen by BLEU scores BLEU 10.90 against the models' attention 7.75, rnn 7.10" in text
    assert "it falls to 3.10" in text
    assert "over code pieces 1-5 -> pieces 61+: attention 1.070 -> 0.170, rnn 0.090 -> 0.000" in text
    assert "rnn 100 parameters and 50.0 pairs/s" in text


def test_model_text_states_gain_baselines_and_loss():
    baselines = {"retrieval": SUMMARIES[2], "constant-chrf": SUMMARIES[3]}
    text = describe_model({**SUMMARIES[1], "examples": [{}] * 6340}, baselines)
    assert text.startswith("On the 6,340 test pairs the attention model scores chrF 15.50 (95% CI 15.00 to 16.00)")
    assert "loses 3.00 (95% CI 2.50 to 3.50) chrF" in text and "The other 12.50" in text
    assert "no evidence" not in text  # the gain's interval is above 0
    assert "That interval includes 0" in describe_model(SUMMARIES[0], baselines)  # rnn: gain 0.1 +- 0.5
    assert "the model is above it" in text and "the model is level with retrieval" in text
    assert "the docstring is worth 0.500 nats per piece" in text


def test_position_rows_per_model():
    frame = position_frame(SUMMARIES)
    assert frame["system"].tolist() == ["rnn", "attention"] and list(frame.columns) == ["system", "pieces 1-5", "pieces 61+"]


def test_significance_rows_per_pair_and_metric():
    frame = significance_frame(SIGNIFICANCE)
    assert len(frame) == 6 and set(frame["metric"]) == {"chrF", "chrF gain, length-matched"}
    assert frame["significant (5%)"].tolist() == ["yes", "yes", "yes", "no", "no", "yes"]


def test_decoding_is_described_as_recorded():
    greedy = {"method": "greedy", "beam_width": 5, "no_repeat_ngram": 8, "eos_penalty": 4.0, "max_len": 400}
    assert describe_decoding(greedy) == "greedy search, 8-grams blocked, `<eos>` penalty 4, at most 400 pieces"
    beam = {"method": "beam", "beam_width": 3, "no_repeat_ngram": 0, "eos_penalty": 0.0, "max_len": 60}
    assert describe_decoding(beam) == "beam search, width 3, at most 60 pieces"
    aimed = {**greedy, "length_target": True, "target_scale": 1.0}
    assert describe_decoding(aimed) == ("greedy search, 8-grams blocked, aimed at the predicted length (`<eos>` penalty 4 "
                                        "before it), at most 400 pieces")
    assert "aimed at 1.25 x the predicted length" in describe_decoding({**aimed, "target_scale": 1.25})
    assert describe_decoding({**beam, "syntax_guard": True}) == "beam search, width 3, syntax guard, at most 60 pieces"


def test_profiles_are_stacked_and_profiles_never_run_left_out(tmp_path):
    write_json(tmp_path / "results" / "quick" / "summary_test.json", [summary("attention", 15.5, 3.0)])
    write_json(tmp_path / "results" / "full" / "summary_test.json", [summary("attention", 17.0, 4.0)])
    frame = profiles_frame(["quick", "full", "never-run"], root=tmp_path)
    assert list(frame.columns[:3]) == ["profile", "system", "chrF [95% CI]"]
    assert frame["profile"].tolist() == ["quick", "full"]
    assert frame["chrF [95% CI]"].tolist() == ["15.50 [15.00, 16.00]", "17.00 [16.50, 17.50]"]
    assert profiles_frame(["never-run"], root=tmp_path).empty


def test_tables_are_saved_and_shown_without_row_numbers(tmp_path):
    import pandas as pd

    from seq2seq_lib.config import load_config, profile_config_path
    from seq2seq_lib.course.notebook_helpers import NotebookContext
    from seq2seq_lib.paths import RunPaths

    ctx = NotebookContext(load_config(profile_config_path("smoke")), RunPaths(tmp_path, "smoke", 1234))
    shown = ctx.table(pd.DataFrame({"system": ["rnn", "<eos>"], "chrF": [1.5, 2.5]}), "t").to_html()
    assert "rnn" in shown and ">0</th>" not in shown and ">1</th>" not in shown  # no index column
    assert ">1.5<" in shown and "1.500000" not in shown and "&lt;eos&gt;" in shown  # rounded, escaped
    assert (tmp_path / "figures" / "smoke" / "t.csv").read_text().splitlines() == ["system,chrF", "rnn,1.5", "<eos>,2.5"]
    assert (tmp_path / "figures" / "smoke" / "t.md").read_text().startswith("| system | chrF |")


def test_show_source_displays_the_package_code_itself():
    from seq2seq_lib.course.notebook_helpers import show_source
    from seq2seq_lib.models.attention import AdditiveAttention, AttentionSeq2Seq

    code = show_source(AdditiveAttention.forward, AttentionSeq2Seq._step).data
    assert code.startswith("def forward(self, query") and "\n\ndef _step(" in code  # dedented, in the order asked
    assert "torch.softmax(scores, dim=1)" in code
