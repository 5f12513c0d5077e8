"""queue: hold the caller, with music and their position announced, until one of the owner's contacts takes
the call; after `max_wait` take the mandatory `exhausted` exit.

The engine only says what to do (a Queue action) and reads the answer (TransferResult): the channel keeps the
queue (who waits, since when, in which place), plays the hold sound, announces the position, rings the contacts
in turn or all at once for the caller at the head, and runs every timer. `announce` may name
`{{queue.position}}`, which the channel fills in each time. The result's reason ("answered", "exhausted",
"no-contacts", ...) is kept in `queue.reason`; a failure other than "exhausted" takes `failed` when the step has
one, else `exhausted`.
"""

from __future__ import annotations

from ..actions import POSITION_MARK, Log, Queue
from ..events import Event, TransferResult
from ..states import End, Waiting
from ..template import compile_template
from .base import Context, Outcome, Prompt, Spec, Step, TemplateRefs
from .transfer import hand_over_context

DEFAULT_ANNOUNCE = "You are number {{queue.position}} in the queue. Please hold."
EXHAUSTED = "exhausted"


class QueueStep(Step):
    kind = "queue"
    waits = Waiting.QUEUE  # the channel answers with a TransferResult
    outcome_on_success = True  # `outcome` labels the call only once a contact took it
    terminal = True  # answered: the IVR's part of the call is over

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.contacts = tuple(compile_template(contact) for contact in spec["contacts"])
        self.name = str(spec.get("name", ""))
        self.strategy = str(spec.get("strategy", "in_turn"))
        self.ring_timeout = float(spec.get("ring_timeout", 20))
        self.max_wait = float(spec.get("max_wait", 300))
        self.announce_every = float(spec.get("announce_every", 30))
        self.announce = Prompt.parse(spec.get("announce", DEFAULT_ANNOUNCE))
        self.hold = str(spec.get("hold", "music"))
        self.greeting = Prompt.parse(spec.get("say"))
        self.whisper = Prompt.parse(spec.get("whisper"))
        self.accept_digit = str(spec.get("accept_digit", "1"))

    def exits(self) -> dict[str, str]:
        return {label: self.spec[label] for label in (EXHAUSTED, "failed") if label in self.spec}

    def templates(self) -> TemplateRefs:
        found: TemplateRefs = [(("contacts", index), t) for index, t in enumerate(self.contacts)]
        for field_name, prompt in (("say", self.greeting), ("announce", self.announce), ("whisper", self.whisper)):
            if prompt is not None and field_name in self.spec:
                found += [((field_name,), t) for t in prompt.templates()]
        return found

    def defines(self) -> tuple[str, ...]:
        return ("queue.position", "queue.reason")

    def enter(self, ctx: Context) -> Outcome:
        contacts = tuple(target for target in (ctx.render(t).strip() for t in self.contacts) if target)
        queue = self._action(ctx, contacts)
        actions = ctx.say(self.greeting, barge_in=False)
        actions += [Log(event="queue", data={"step": self.id, "queue": queue.name, "contacts": list(contacts)}), queue]
        return Outcome(actions=actions, wait=self.waits)

    def _action(self, ctx: Context, contacts: tuple[str, ...]) -> Queue:
        announce, whisper = self.announce, self.whisper
        with_mark = dict(ctx.vars, **{"queue.position": POSITION_MARK})
        return Queue(
            name=self.name or f"{ctx.state['flow_id']}.{self.id}",
            contacts=contacts,
            strategy=self.strategy,
            ring_timeout=self.ring_timeout,
            max_wait=self.max_wait,
            announce_every=self.announce_every,
            announce=announce.text.render(with_mark) if announce is not None and announce.text else "",
            hold=self.hold,
            whisper=ctx.render(whisper.text) if whisper else "",
            whisper_audio=whisper.audio if whisper else "",
            accept_digit=self.accept_digit,
            context=hand_over_context(ctx),
            voice=(announce.voice if announce else "") or ctx.flow.voice,
            language=(announce.language if announce else "") or ctx.flow.language,
        )

    def handle(self, ctx: Context, event: Event) -> Outcome:
        if not isinstance(event, TransferResult):
            return Outcome(wait=self.waits)
        reason = event.reason or ("answered" if event.ok else "failed")
        log = Log(event="queue_result", data={"step": self.id, "ok": event.ok, "reason": reason})
        if event.ok:
            ctx.state["outcome"] = self.outcome or "transferred"
            return Outcome(actions=[log], end=End.TRANSFERRED)
        ctx.vars["queue.reason"] = reason
        label = "failed" if reason != EXHAUSTED and "failed" in self.spec else EXHAUSTED
        return Outcome(actions=[log], next=self.spec[label])
