"""The comparison notebook's written conclusions follow the numbers they are given."""

from seq2seq_lib.io_utils import write_json
from seq2seq_lib.notebook_helpers import describe_comparison, describe_decoding, profiles_frame


def summary(system: str, bleu: float, low: float, high: float, parses: float, **extra) -> dict:
    """A results summary as evaluate_models writes it (only the fields the text reads)."""
    return {"system": system, "metrics": {"bleu": bleu, "syntax_valid": parses, "length_ratio": extra.pop("ratio", 1.0)},
            "ci95": {"bleu": [low, high]}, **extra}


def test_conclusions_rank_test_significance_length_and_cost():
    summaries = [
        summary("rnn", 1.0, 0.8, 1.2, 0.5, ratio=0.4, calibration={"eos_penalty": 2.0}, parameters=100,
                sentences_per_second=50.0, decoding={"method": "greedy"}),
        summary("attention", 9.0, 8.5, 9.5, 0.8, ratio=0.9, calibration={"eos_penalty": 3.0, "eos_bonus": 1.0}, parameters=300,
                sentences_per_second=20.0, decoding={"method": "greedy"}),
        summary("retrieval (TF-IDF)", 8.0, 7.6, 8.4, 1.0),
    ]
    significance = {"attention vs rnn": {"delta": 8.0, "delta_low": 7.5, "delta_high": 8.5, "win_rate": 1.0}}
    text = describe_comparison(summaries, significance, ["rnn", "attention"])
    assert "attention (9.00) > rnn (1.00)" in text
    assert "a significant difference at the 5% level" in text
    assert "interval is above that of the retrieval baseline" in text
    assert "attention 3 before the predicted length, bonus 1 after (length ratio 0.90)" in text
    assert "rnn 2 (length ratio 0.40)" in text
    assert "rnn 100 parameters and 50.0 pairs/s" in text and "greedy decoding speed" in text
    assert "BLEU earned by code that parses" not in text  # summaries from before the metric existed
    summaries[0]["metrics"]["bleu_parsing_only"], summaries[1]["metrics"]["bleu_parsing_only"] = 0.25, 4.5
    text = describe_comparison(summaries, significance, ["rnn", "attention"])
    assert "attention 4.50 of 9.00, rnn 0.25 of 1.00" in text
    summaries[1]["calibration"]["target_scale"] = 1.2
    text = describe_comparison(summaries, significance, ["rnn", "attention"])
    assert "attention 3 before 1.2 x the predicted length, bonus 1 after" in text
    overlapping = describe_comparison([*summaries[:2], summary("retrieval (TF-IDF)", 9.2, 8.9, 9.6, 1.0)], significance, ["rnn", "attention"])
    assert "interval overlaps that of the retrieval baseline" in overlapping


def test_decoding_is_described_as_recorded():
    greedy = {"method": "greedy", "beam_width": 5, "no_repeat_ngram": 8, "eos_penalty": 4.0, "max_len": 400}
    assert describe_decoding(greedy) == "greedy search, 8-grams blocked, <eos> penalty 4, at most 400 pieces"
    beam = {"method": "beam", "beam_width": 3, "no_repeat_ngram": 0, "eos_penalty": 0.0, "max_len": 60}
    assert describe_decoding(beam) == "beam search, width 3, at most 60 pieces"
    aimed = {**greedy, "length_target": True, "eos_bonus": 1.0, "target_scale": 1.0, "end_when_parses": True}
    assert describe_decoding(aimed) == ("greedy search, 8-grams blocked, aimed at the predicted length (<eos> penalty 4 "
                                        "before it, bonus 1 after), ending once the code parses, at most 400 pieces")
    assert "aimed at 1.25 x the predicted length" in describe_decoding({**aimed, "target_scale": 1.25})
    assert describe_decoding({**beam, "syntax_guard": True}) == "beam search, width 3, syntax guard, at most 60 pieces"


def test_profiles_are_stacked_with_a_profile_column_and_missing_ones_skipped(tmp_path):
    metrics = {"bleu": 6.5, "token_accuracy": 0.05, "syntax_valid": 0.79, "exact_match": 0.0, "distinct_share": 0.93}
    for profile, bleu in (("quick", 6.5), ("full", 9.25)):
        row = {"system": "attention", "metrics": {**metrics, "bleu": bleu}, "ci95": {"bleu": [bleu - 0.3, bleu + 0.3]}}
        write_json(tmp_path / "results" / profile / "summary_test.json", [row])
    frame = profiles_frame(["quick", "full", "never-run"], root=tmp_path)
    assert list(frame.columns[:3]) == ["profile", "system", "BLEU [95% CI]"]
    assert frame["profile"].tolist() == ["quick", "full"]
    assert frame["BLEU [95% CI]"].tolist() == ["6.50 [6.20, 6.80]", "9.25 [8.95, 9.55]"]
    assert profiles_frame(["never-run"], root=tmp_path).empty
