"""The agent loop of a chat turn whose app binds tools (docs/api.md "Agents with tools").

``chat_service`` hands a turn here when its configuration has ``tools`` (every chat surface:
debug chat, the published-app API, the course's open chat, web apps, the assistant agent). A run:

1. the model is called with the tools (OpenAI function calling when the registry lists
   ``tool_call`` among the model's features; otherwise a ReAct prompt — ``Thought`` / ``Action`` /
   ``Action Input`` / ``Final Answer`` — parsed from the text);
2. the tool calls it asks for run in parallel (threads, each in an app context); a tool's error
   becomes its observation; the observations go back to the model; repeat
3. until the model answers, or ``AGENT_MAX_ITERATIONS`` model calls were made (the last one may
   not call tools: ``tool_choice: none``), or ``AGENT_TIME_BUDGET_S`` ran out (``timeout``), or the
   user stopped it (``stop``, seen within ``STOP_POLL_INTERVAL_S``, also while tools run).

Events (the studio's SSE format, ``chat_service``'s fields): ``long_term_memory_recall``?,
``dataset_retrieval``?, then per step ``agent_thought`` (the model chose tools: ``thought``,
``tool``, ``tool_input``), ``agent_action`` (one per tool call: ``tool``, ``tool_input``,
``observation``, ``latency`` in seconds), ``dataset_retrieval`` (passages a retrieval tool found),
``agent_message`` (answer deltas), and last ``agent_end`` / ``stop`` / ``timeout`` / ``error``.
Each step is saved as a ``message_agent_thought`` row (``agent_thoughts`` of the message lists).

Every model call is metered (``metering.reserve`` → ``Charge.settle``) on the turn's surface; the
first call's reservation is the one ``chat_service`` made before the stream started.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from llmops.errors import AppError, UpstreamError, UpstreamTimeoutError
from llmops.extensions import db
from llmops.models import Message, MessageAgentThought
from llmops.models.base import unix, utcnow
from llmops.providers.chat import Usage
from llmops.providers.errors import ProviderError, ProviderTimeout
from llmops.providers.tokens import estimate_messages_tokens
from llmops.providers.tool_calls import ToolCall, ToolStreamState, stream_with_tools
from llmops.runtime import runtime
from llmops.services.core import metering, model_service
from llmops.services.studio import chat_service, review_service, tool_service
from llmops.tools.http import FetchFailed, UnsafeUrlError
from llmops.tools.runtime import BoundTool, ToolContext, ToolError

TERMINAL = ("agent_end", "stop", "timeout", "error")
REACT_FINAL = re.compile(r"Final Answer\s*:\s*(.*)", re.S | re.I)
REACT_ACTION = re.compile(r"Action\s*:\s*`?([A-Za-z0-9_-]+)`?\s*\n+\s*Action Input\s*:\s*(.*)", re.S | re.I)


@dataclass
class AgentSetup:
    """What a turn needs to run as an agent: the app's tool references, its knowledge bases and
    retrieval settings (for the retrieval tool) and whether the model does function calling."""

    refs: list[dict]
    dataset_ids: list[str] = field(default_factory=list)
    retrieval_config: dict = field(default_factory=dict)
    function_calling: bool = True
    # tools built by the caller rather than bound from references (the assistant agent's)
    extra_tools: list[BoundTool] = field(default_factory=list)


def setup(config, spec) -> AgentSetup | None:
    """An ``AgentSetup`` when ``config`` binds tools, else None (a plain chat turn)."""
    refs = list(getattr(config, "tools", None) or [])
    if not refs:
        return None
    return AgentSetup(refs, list(getattr(config, "dataset_ids", None) or []),
                      dict(getattr(config, "retrieval_config", None) or {}), "tool_call" in (spec.features or ()))


def agent_events(turn) -> Iterator[tuple[str, dict]]:
    """Run the turn's agent → its events (see the module docstring). Closing the iterator early
    (client gone) saves what was done with status ``stop``."""
    return _Run(turn).events()


def complete(turn) -> dict:
    """The blocking form: run the agent, then → the saved message (``message_to_dict``).
    Raises ``UpstreamTimeoutError`` (504) / ``UpstreamError`` (502) when the run failed (saved)."""
    last = None
    for name, data in agent_events(turn):
        if name in TERMINAL:
            last = (name, data)
    message = db.session.get(Message, turn.message_id)
    if last is not None and last[0] == "error":
        raise UpstreamError(message.error if message else last[1].get("message"))
    if last is not None and last[0] == "timeout":
        raise UpstreamTimeoutError(message.error if message else "the agent ran out of time")
    return chat_service.message_to_dict(message)


def stored_thoughts(message: Message) -> list[dict]:
    """The saved steps of ``message`` in course 1.13's ``agent_thoughts`` shape (empty for a
    turn that was no agent run)."""
    rows = db.session.scalars(sa.select(MessageAgentThought).where(MessageAgentThought.message_id == message.id)
                              .order_by(MessageAgentThought.position)).all()
    return [{"id": str(r.id), "position": r.position, "event": r.event, "thought": r.thought,
             "observation": r.observation, "tool": r.tool, "tool_input": r.tool_input or {}, "answer": r.answer,
             "latency": r.latency, "prompt_tokens": r.prompt_tokens, "answer_tokens": r.answer_tokens,
             "total_token_count": r.total_tokens, "total_price": 0.0, "created_at": unix(r.created_at)}
            for r in rows]


def react_prompt(tools: list[BoundTool]) -> str:
    """The ReAct instructions added to the system prompt of a model without function calling."""
    names = ", ".join(t.name for t in tools)
    lines = "\n".join(t.react_line() for t in tools)
    return ("\n\nYou can use these tools:\n" + lines + "\n\nTo use a tool, reply exactly in this format and stop:\n"
            f"Thought: what you need to find out\nAction: the tool's name, one of [{names}]\n"
            "Action Input: the tool's arguments as a JSON object\n\n"
            "You will then be given an Observation with the tool's result. When you can answer, reply:\n"
            "Final Answer: your answer to the user")


def parse_react(text: str, tools: list[BoundTool]) -> tuple[str, ToolCall | None, str | None]:
    """(thought, the tool call or None, the final answer or None) of a ReAct reply; a reply in
    neither form is taken as the final answer."""
    final, action = REACT_FINAL.search(text), REACT_ACTION.search(text)
    if action and (not final or action.start() < final.start()):
        thought = text[:action.start()].replace("Thought:", "").strip()
        raw = action.group(2).strip()
        raw = re.sub(r"^```(?:json)?|```$", "", raw.split("\nObservation")[0].strip()).strip()
        try:
            arguments = json.loads(raw) if raw else {}
        except ValueError:
            tool = next((t for t in tools if t.name == action.group(1)), None)
            single = tool.inputs[0]["name"] if tool is not None and len(tool.inputs) == 1 else "input"
            arguments = {single: raw.strip('"')}
        return thought, ToolCall(f"react-{uuid.uuid4().hex[:8]}", action.group(1),
                                 json.dumps(arguments, ensure_ascii=False)), None
    if final:
        return text[:final.start()].replace("Thought:", "").strip(), None, final.group(1).strip()
    return "", None, text.strip()


class _Stopped(Exception):
    """The user asked the run to stop."""


class _OutOfTime(Exception):
    """The agent's time budget ran out."""


class _Run:
    def __init__(self, turn):
        self.turn = turn
        self.app = current_app._get_current_object()
        config = current_app.config
        self.max_iterations = max(1, int(config["AGENT_MAX_ITERATIONS"]))
        self.deadline = turn.started + float(config["AGENT_TIME_BUDGET_S"])
        self.observation_max = int(config["TOOL_OBSERVATION_MAX_CHARS"])
        self.store = runtime().state_store
        self.context = ToolContext(account_id=turn.account_id, app_id=turn.app_id,
                                   dataset_ids=turn.agent.dataset_ids, retrieval_config=turn.agent.retrieval_config)
        self.tools = tool_service.bind_tools(self.context, turn.agent.refs) + list(turn.agent.extra_tools)
        self.by_name = {t.name: t for t in self.tools}
        self.function_calling = turn.agent.function_calling
        self.masker = review_service.OutputMasker(turn.review)
        self.created_at = unix(utcnow())
        self.steps: list[dict] = []
        self.answer: list[str] = []
        self.prompt_tokens = self.completion_tokens = 0
        self.estimated = False
        self.first_token_ms: int | None = None
        self.next_stop_check = 0.0
        self.pending_charge: metering.Charge | None = None
        self.answer_id = chat_service.step_id(turn.message_id, "agent_message")

    # --- events ------------------------------------------------------------------------------
    def data(self, event: str, step: str | None = None, **fields) -> dict:
        turn = self.turn
        return {"id": step or chat_service.step_id(turn.message_id, event), "task_id": str(turn.task_id),
                "conversation_id": str(turn.conversation_id), "message_id": str(turn.message_id), "event": event,
                "thought": "", "observation": "", "tool": "", "tool_input": {}, "answer": "",
                "latency": round(time.perf_counter() - turn.started, 3), "total_token_count": 0,
                "total_price": 0.0, "created_at": self.created_at, **fields}

    def step(self, event: str, step_id: str | None = None, **fields) -> dict:
        row = {"id": step_id or str(uuid.uuid4()), "event": event, "thought": "", "observation": "", "tool": "",
               "tool_input": {}, "answer": "", "prompt_tokens": 0, "answer_tokens": 0, "latency": 0.0, **fields}
        self.steps.append(row)
        return row

    def events(self) -> Iterator[tuple[str, dict]]:
        turn = self.turn
        # the reservation chat_service made before the stream started pays the first model call;
        # from here on this run settles every call itself
        self.pending_charge, turn.charge = turn.charge, None
        self.store.set(f"task:{turn.task_id}", str(turn.created_by or turn.account_id), chat_service.TASK_TTL_S)
        status, error = "normal", ""
        try:
            if turn.memory_on:
                row = self.step("long_term_memory_recall", observation=turn.summary)
                yield "long_term_memory_recall", self.data("long_term_memory_recall", row["id"], summary=turn.summary,
                                                           observation=turn.summary)
            if turn.records:
                yield self._retrieval_event(turn.records)
            yield from self._loop()
        except GeneratorExit:
            self._finish("stop", "the client disconnected")
            raise
        except _Stopped:
            status, error = "stop", "stopped by the user"
        except _OutOfTime:
            status, error = "timeout", f"the agent's time budget ({current_app.config['AGENT_TIME_BUDGET_S']:g} s) ran out"
        except ProviderTimeout as exc:
            status, error = "timeout", exc.message
        except ProviderError as exc:
            status, error = "error", exc.message
        except AppError as exc:  # e.g. the balance cannot pay for the next model call (429)
            status, error = "error", exc.message
        except Exception as exc:  # noqa: BLE001 — after the first byte every failure must become an event
            current_app.logger.exception("agent run failed")
            status, error = "error", f"internal error: {exc.__class__.__name__}"
        finally:
            self.store.delete(f"task:{turn.task_id}")
        rest = self.masker.flush()
        if rest and status == "normal":
            self.answer.append(rest)
            yield "agent_message", self.data("agent_message", self.answer_id, answer=rest, thought=rest)
        message = self._finish(status, error)
        totals = {"total_token_count": message.total_tokens, "total_price": chat_service.message_price(message),
                  "latency": round(message.response_latency / 1000, 3)}
        if status == "normal":
            yield "agent_end", self.data("agent_end", **totals, answer_tokens=message.answer_tokens,
                                         total_tokens=message.total_tokens, response_latency=message.response_latency,
                                         usage_estimated=message.usage_estimated)
            if turn.suggest_after_answer:
                yield "suggested_questions", self.data(
                    "suggested_questions", suggested_questions=chat_service._suggestions(turn))
        elif status in ("stop", "timeout"):
            yield status, self.data(status, **totals, answer=message.answer, message=error, observation=error)
        else:
            yield "error", self.data("error", **totals, code="fail", message=error, observation=error)

    def _retrieval_event(self, records: list[dict]) -> tuple[str, dict]:
        shown = chat_service._event_records(records)
        text = "\n".join(r["content"] for r in shown)
        row = self.step("dataset_retrieval", observation=text)
        return "dataset_retrieval", self.data("dataset_retrieval", row["id"], records=shown, observation=text)

    # --- the loop --------------------------------------------------------------------------------
    def _loop(self) -> Iterator[tuple[str, dict]]:
        messages = [dict(m) for m in self.turn.messages]
        if not self.function_calling and self.tools:
            messages[0]["content"] += react_prompt(self.tools)
        for iteration in range(self.max_iterations):
            self._check()
            last = iteration == self.max_iterations - 1
            started = time.perf_counter()
            if self.function_calling:
                content, calls, usage = yield from self._call_with_tools(messages, last)
            else:
                content, calls, usage = yield from self._call_react(messages, last)
            if not calls or not self.tools:
                return
            if last:  # the limit: the model still wants tools; say so instead of an answer
                note = f"(The agent stopped after {self.max_iterations} steps without a final answer.)"
                yield from self._emit_answer(note)
                return
            for i, call in enumerate(calls):
                call.id = call.id or f"call_{iteration}_{i}"
            inputs = {c.name: _arguments(c.arguments)[0] for c in calls}
            row = self.step("agent_thought", thought=content or "calling " + ", ".join(c.name for c in calls),
                            tool=", ".join(c.name for c in calls), tool_input=inputs,
                            prompt_tokens=usage.prompt_tokens, answer_tokens=usage.completion_tokens,
                            latency=round(time.perf_counter() - started, 3))
            yield "agent_thought", self.data("agent_thought", row["id"], thought=row["thought"], tool=row["tool"],
                                             tool_input=inputs, latency=row["latency"])
            observations = yield from self._run_tools(calls)
            if self.function_calling:
                messages.append({"role": "assistant", "content": content or None, "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}
                    for c in calls]})
                messages += [{"role": "tool", "tool_call_id": c.id, "content": o} for c, o in zip(calls, observations,
                                                                                                   strict=True)]
            else:
                call = calls[0]
                messages.append({"role": "assistant", "content": f"Thought: {content}\nAction: {call.name}\n"
                                                                 f"Action Input: {call.arguments}"})
                messages.append({"role": "user", "content": f"Observation: {observations[0]}"})

    def _check(self) -> None:
        if time.perf_counter() > self.deadline:
            raise _OutOfTime()
        if time.perf_counter() >= self.next_stop_check:
            self.next_stop_check = time.perf_counter() + chat_service.STOP_POLL_INTERVAL_S
            if self.store.get(f"stop:{self.turn.task_id}"):
                raise _Stopped()

    def _reserve(self, messages: list[dict]) -> metering.Charge:
        if self.pending_charge is not None:
            charge, self.pending_charge = self.pending_charge, None
            return charge
        turn = self.turn
        spec = model_service.get_model(turn.provider, turn.model, allow_unlisted=turn.api_key is not None)
        return metering.reserve(turn.account_id, spec, estimate_messages_tokens(messages),
                                int(turn.parameters.get("max_tokens") or spec.max_output), surface=turn.surface,
                                endpoint=turn.endpoint, key_id=turn.key_id, model=turn.model, is_stream=True,
                                free=turn.api_key is not None)

    def _settle(self, charge: metering.Charge, usage: Usage | None, status: str, error: str = "",
                first_token_ms: int | None = None) -> None:
        usage = usage or Usage(0, 0, True)
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.estimated = self.estimated or usage.estimated
        if self.first_token_ms is None and first_token_ms is not None:
            self.first_token_ms = int((time.perf_counter() - self.turn.started) * 1000)
        charge.first_token_ms = first_token_ms
        charge.settle(usage.prompt_tokens, usage.completion_tokens, usage.estimated, status,
                      200 if status in ("success", "stop") else 502, error)

    def _call_with_tools(self, messages: list[dict], last: bool):
        charge = self._reserve(messages)
        turn, state = self.turn, ToolStreamState()
        params = dict(turn.parameters)
        if last:
            params["tool_choice"] = "none"
        offered = [t.openai_tool() for t in self.tools]
        status, error = "success", ""
        try:
            client = model_service.get_chat_client(turn.provider, turn.api_key)
            with contextlib.closing(stream_with_tools(client, turn.model, messages, offered, state, **params)) as deltas:
                for delta in deltas:
                    yield from self._emit_answer(delta, flush=False)
                    self._check()
        except (_Stopped, GeneratorExit):
            status = "stop"
            raise
        except (ProviderError, _OutOfTime, AppError) as exc:
            status, error = "error", str(getattr(exc, "message", exc))
            raise
        finally:
            self._settle(charge, state.usage or (Usage(estimate_messages_tokens(messages), 0, True)
                                                 if status != "success" else None), status, error,
                         state.first_token_ms)
        return state.content, state.tool_calls, state.usage or Usage(0, 0, True)

    def _call_react(self, messages: list[dict], last: bool):
        charge = self._reserve(messages)
        turn = self.turn
        params = dict(turn.parameters)
        params["stop"] = ["Observation:"]
        if last:
            messages = [*messages, {"role": "user", "content": "Give your Final Answer now."}]
        started = time.perf_counter()
        try:
            client = model_service.get_chat_client(turn.provider, turn.api_key)
            result = client.complete(turn.model, messages, **params)
        except ProviderError as exc:
            self._settle(charge, Usage(estimate_messages_tokens(messages), 0, True), "error", exc.message)
            raise
        except BaseException as exc:  # the reservation never outlives the call
            self._settle(charge, Usage(0, 0, False), "error", f"internal error: {exc.__class__.__name__}")
            raise
        self._settle(charge, result.usage, "success", "", int((time.perf_counter() - started) * 1000))
        thought, call, final = parse_react(result.content, self.tools)
        if call is None:
            yield from self._emit_answer(final or "")
            return thought, [], result.usage
        return thought, [call], result.usage

    def _emit_answer(self, text: str, flush: bool = True) -> Iterator[tuple[str, dict]]:
        shown = self.masker.feed(text)
        if flush:
            shown += self.masker.flush()
        if shown:
            self.answer.append(shown)
            yield "agent_message", self.data("agent_message", self.answer_id, answer=shown, thought=shown)

    # --- tools -----------------------------------------------------------------------------------
    def _run_tools(self, calls: list[ToolCall]):
        """Run ``calls`` in parallel → their observations (call order); an ``agent_action`` per
        call as each finishes; stop and the time budget are checked while they run."""
        observations: list[str | None] = [None] * len(calls)
        pool = ThreadPoolExecutor(max_workers=min(len(calls), 8), thread_name_prefix="agent-tool")
        futures: dict[Future, int] = {pool.submit(self._invoke, call): i for i, call in enumerate(calls)}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=chat_service.STOP_POLL_INTERVAL_S, return_when=FIRST_COMPLETED)
                for future in done:
                    i = futures[future]
                    observation, arguments, latency = future.result()
                    observations[i] = observation
                    row = self.step("agent_action", tool=calls[i].name, tool_input=arguments, observation=observation,
                                    latency=latency)
                    yield "agent_action", self.data("agent_action", row["id"], tool=row["tool"], tool_input=arguments,
                                                    observation=observation, latency=latency)
                self._check()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        if self.context.records:
            records, self.context.records = list(self.context.records), []
            yield self._retrieval_event(records)
        return [o or "" for o in observations]

    def _invoke(self, call: ToolCall) -> tuple[str, dict, float]:
        """One tool call (in a pool thread) → (observation, arguments, latency s); never raises."""
        started = time.perf_counter()
        arguments, problem = _arguments(call.arguments)
        tool = self.by_name.get(call.name)
        with self.app.app_context():
            if tool is None:
                observation = f"error: there is no tool named {call.name!r}"
            elif problem:
                observation = f"error: {problem}"
            else:
                try:
                    observation = str(tool.invoke(arguments))
                except (ToolError, UnsafeUrlError, FetchFailed) as exc:
                    observation = f"error: {exc}"
                except Exception as exc:  # noqa: BLE001 — a tool's failure is an observation, not a failed chat
                    current_app.logger.warning("tool %s failed: %r", call.name, exc)
                    observation = f"error: the tool failed ({exc.__class__.__name__})"
        if len(observation) > self.observation_max:
            observation = observation[:self.observation_max] + " …(truncated)"
        return observation, arguments, round(time.perf_counter() - started, 3)

    # --- saving ----------------------------------------------------------------------------------
    def _finish(self, status: str, error: str) -> Message:
        turn = self.turn
        answer = "".join(self.answer)
        if answer:
            self.step("agent_message", self.answer_id, thought=answer, answer=answer,
                      prompt_tokens=self.prompt_tokens, answer_tokens=self.completion_tokens,
                      latency=round(time.perf_counter() - turn.started, 3))
        if self.pending_charge is not None:  # never called the model
            self.pending_charge.settle(0, 0, False, "stop" if status == "stop" else "error", 499, error)
            self.pending_charge = None
        usage = Usage(self.prompt_tokens, self.completion_tokens, self.estimated)
        message = chat_service._save_message(turn, answer, usage, status, error, self.first_token_ms)
        now = utcnow()
        db.session.add_all(MessageAgentThought(
            id=uuid.UUID(row["id"]), message_id=message.id, conversation_id=turn.conversation_id,
            account_id=turn.account_id, position=position, event=row["event"], thought=row["thought"][:20000],
            observation=row["observation"][:20000], tool=row["tool"][:255], tool_input=row["tool_input"],
            answer=row["answer"], prompt_tokens=row["prompt_tokens"], answer_tokens=row["answer_tokens"],
            total_tokens=row["prompt_tokens"] + row["answer_tokens"], latency=row["latency"], created_at=now,
            updated_at=now) for position, row in enumerate(self.steps, start=1))
        db.session.commit()
        return message


def _arguments(text: str) -> tuple[dict, str]:
    """The model's JSON arguments → (dict, problem or "")."""
    if not text or not text.strip():
        return {}, ""
    try:
        value = json.loads(text)
    except ValueError:
        return {}, "the arguments are not valid JSON"
    if not isinstance(value, dict):
        return {}, "the arguments must be a JSON object"
    return value, ""
