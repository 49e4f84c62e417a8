"""The form of a tool the agent loop binds: a name the model calls, a description, its inputs
(course ``inputs``: ``[{name, description, required, type}]``) and a function of the model's
arguments returning the observation text."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from llmops.tools.openapi import json_schema_of


class ToolError(Exception):
    """A tool failed in a way the model should read (bad input, upstream answer, refusal)."""


@dataclass
class ToolContext:
    """What a tool may read of the run: whose it is, the app's knowledge bases and retrieval
    settings; ``records`` collects the passages retrieval tools found (shown as ``dataset_retrieval``)."""

    account_id: uuid.UUID
    app_id: uuid.UUID | None = None
    dataset_ids: list[str] = field(default_factory=list)
    retrieval_config: dict = field(default_factory=dict)
    records: list[dict] = field(default_factory=list)


@dataclass
class BoundTool:
    """A tool ready for one run. ``name`` is unique among the run's tools (the function name the
    model calls, ``[A-Za-z0-9_-]{1,64}``); ``invoke(arguments)`` returns the observation."""

    name: str
    description: str
    inputs: list[dict]
    invoke: Callable[[dict], str]
    type: str = "builtin_tool"
    provider_id: str = ""
    tool_id: str = ""

    def openai_tool(self) -> dict:
        """The tool in the OpenAI ``tools`` shape."""
        return {"type": "function", "function": {"name": self.name, "description": self.description[:1024],
                                                 "parameters": json_schema_of(self.inputs)}}

    def react_line(self) -> str:
        """One line describing the tool for a ReAct prompt."""
        args = ", ".join(f"{i['name']} ({i.get('type', 'string')}{', required' if i.get('required') else ''}): "
                         f"{i.get('description', '')}" for i in self.inputs)
        return f"- {self.name}: {self.description} Arguments: {args or 'none'}"
