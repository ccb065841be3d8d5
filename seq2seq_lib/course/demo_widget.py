"""The interactive demo: type a docstring, pick a model and a beam width, see the code and its attention."""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from ..errors import UserError
from ..models import MODEL_NAMES
from .demo import MAX_BEAM_WIDTH, DemoResult, generate_code
from .visualize import attention_png

EXAMPLE_DOCSTRING = "Return the number of lines in a text file, ignoring empty lines."
HEATMAP_ROWS = 40  # output steps drawn: more rows than this would not leave every label legible
_FORMATTER = HtmlFormatter(noclasses=True, style="friendly", nowrap=False)


def highlight_code(code: str) -> str:
    """Python source as self-contained HTML with inline colours (no stylesheet needed)."""
    body = highlight(code or "# (empty output)", PythonLexer(), _FORMATTER)
    return f'<div class="demo-code" style="font-size:15px; max-height:24em; overflow:auto">{body}</div>'


def message_html(text: str, kind: str = "error") -> str:
    """A one-line message box ('error' in red, 'info' in grey)."""
    colour = "#b00020" if kind == "error" else "#555555"
    return f'<div class="demo-{kind}" style="color:{colour}; font-size:15px; padding:4px 0">{html.escape(text)}</div>'


class CodeDemo(widgets.VBox):
    """The demo layout (a VBox) with its controls and output widgets as attributes."""

    def __init__(self, generate: Callable[..., DemoResult]) -> None:
        self.generate = generate
        self.docstring = widgets.Textarea(
            value=EXAMPLE_DOCSTRING, placeholder="Describe a Python function in one or two sentences",
            description="Docstring", layout=widgets.Layout(width="95%", height="80px"),
        )
        self.model = widgets.ToggleButtons(options=list(MODEL_NAMES), value="attention", description="Model")
        self.beam = widgets.IntSlider(value=5, min=1, max=MAX_BEAM_WIDTH, step=1, description="Beam width")
        self.button = widgets.Button(description="Generate", button_style="primary", icon="play")
        self.status = widgets.HTML(message_html("Type a docstring and press Generate.", "info"))
        self.code = widgets.HTML("")
        self.heatmap = widgets.Image(format="png", layout=widgets.Layout(display="none", max_width="600px"))
        self.output = widgets.VBox([self.status, self.code, self.heatmap])
        for child in (self.docstring, self.model, self.beam, self.button):
            child.add_class("demo-input")
        self.button.add_class("demo-generate")
        self.code.add_class("demo-code-output")
        self.heatmap.add_class("demo-heatmap")
        self.button.on_click(self._on_click)
        super().__init__([self.docstring, self.model, self.beam, self.button, self.output])
        self.add_class("seq2seq-demo")

    def _on_click(self, _button: widgets.Button) -> None:
        """Generate for the current inputs and show the result (or a friendly message)."""
        self.button.disabled = True
        self.status.value = message_html("Generating…", "info")
        try:
            self.show(self.generate(self.docstring.value, model_name=self.model.value, beam_width=self.beam.value))
        except UserError as exc:
            self.code.value, self.heatmap.layout.display = "", "none"
            self.status.value = message_html(str(exc))
        finally:
            self.button.disabled = False

    def show(self, result: DemoResult) -> None:
        """Put a generation's code, timing and (attention model) heatmap into the output area."""
        self.code.value = highlight_code(result.code)
        note = f"{result.model_name}, beam {self.beam.value}: {len(result.tgt_tokens)} code tokens in {1000 * result.seconds:.0f} ms"
        if result.attention is None or not result.tgt_tokens:
            self.heatmap.layout.display = "none"
            note += " (attention maps exist only for the attention model)" if result.attention is None else ""
        else:
            rows = min(len(result.tgt_tokens), HEATMAP_ROWS)
            self.heatmap.value = attention_png(result.attention[:rows], result.src_tokens, result.tgt_tokens[:rows])
            self.heatmap.layout.display = ""
            shown = f" (its first {rows} of {len(result.tgt_tokens)} rows)" if rows < len(result.tgt_tokens) else ""
            note += (f". Heatmap{shown}: each row is a generated token, bright cells are the docstring words it looked at; "
                     "the <eos> column is the encoder's summary of the whole docstring (its forward pass has read "
                     "every word), so weight there means the step drew on the docstring as a whole, not on one word.")
        self.status.value = message_html(" ".join([note + ("." if not note.endswith(".") else ""), *result.notes()]), "info")


def build_demo(generate: Callable[..., DemoResult] = generate_code) -> CodeDemo:
    """The demo widget; `generate(docstring, model_name=, beam_width=)` does the work (bind profile with partial)."""
    return CodeDemo(generate)
