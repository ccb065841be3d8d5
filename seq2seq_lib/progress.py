"""Progress bars: tqdm.auto (widgets in Jupyter, text in terminals), text-only when asked.

Headless notebook runs (papermill) set SEQ2SEQ_TEXT_PROGRESS=1 so that executed notebooks hold
plain text bars rather than widget placeholders that GitHub cannot render.
"""

import os

if os.environ.get("SEQ2SEQ_TEXT_PROGRESS") == "1":
    from tqdm.std import tqdm
else:
    from tqdm.auto import tqdm

