"""Every Redis key name used by the IVR, and how long each kind of record is kept.

This is the only module that spells key names (RQ's own keys are RQ's business). Retentions are in seconds;
`None` means kept until deleted by an operator. docs/storage.md has the same table in prose.
"""
from __future__ import annotations

PREFIX = "ivr:"

DAY = 24 * 3600

# Retention per record kind (seconds; None = forever). Writers refresh the TTL on every write.
CALL_RETENTION = 90 * DAY  # call record, timeline, job list; the time index is trimmed to the same age
STATE_TTL = 1 * DAY  # engine state + turn cache of a call, after its last turn
FOLLOWUP_RETENTION = 90 * DAY  # delivery status of one job
FLOW_RETENTION = None  # flows and their immutable revisions are history: never expired
CALLBACK_RETENTION = 30 * DAY  # a callback request after its last change
CALLBACK_RATE_WINDOW = 1 * DAY  # per-number callback counter window
CHAT_RETENTION = 30 * DAY  # a chat room (stream + metadata) after its last message
SPOOL_MARKER_TTL = 7 * DAY  # "this spool entry was applied" markers, so a replay never applies one twice
SMS_CONVERSATION_TTL = 30 * 60  # an SMS conversation ends after this long without a message

RETENTION = {
    "call": CALL_RETENTION,
    "call state": STATE_TTL,
    "follow-up": FOLLOWUP_RETENTION,
    "flow revision": FLOW_RETENTION,
    "callback request": CALLBACK_RETENTION,
    "callback rate counter": CALLBACK_RATE_WINDOW,
    "chat room": CHAT_RETENTION,
    "spool marker": SPOOL_MARKER_TTL,
    "sms conversation": SMS_CONVERSATION_TTL,
}


# Calls
def call(call_id: str) -> str:
    return f"{PREFIX}call:{call_id}"  # hash: the call record


def call_timeline(call_id: str) -> str:
    return f"{PREFIX}call:{call_id}:timeline"  # list of JSON entries, oldest first


def call_jobs(call_id: str) -> str:
    return f"{PREFIX}call:{call_id}:jobs"  # list of job ids, in order


def call_state(call_id: str) -> str:
    return f"{PREFIX}call:{call_id}:state"  # string: JSON engine state + recent turns


CALLS_BY_TIME = f"{PREFIX}calls:by_time"  # zset: call id scored by started_at
CALLS_LIVE = f"{PREFIX}calls:live"  # set of call ids not yet finished


# Follow-ups (one per RQ job; the job id is the engine's idempotency key)
def followup(job_id: str) -> str:
    return f"{PREFIX}followup:{job_id}"  # hash: kind, call_id, status, attempts, detail, times


# Flows
FLOW_IDS = f"{PREFIX}flows"  # set of flow ids that have revisions


def flow_published(flow_id: str) -> str:
    return f"{PREFIX}flow:{flow_id}:published"  # string: the published revision number


def flow_revisions(flow_id: str) -> str:
    return f"{PREFIX}flow:{flow_id}:revisions"  # zset: revision number scored by itself


def flow_revision_counter(flow_id: str) -> str:
    return f"{PREFIX}flow:{flow_id}:next_rev"


def flow_revision(flow_id: str, rev: int) -> str:
    return f"{PREFIX}flow:{flow_id}:rev:{rev}"  # hash, written once: yaml, message, author, created_at


def flow_history(flow_id: str) -> str:
    return f"{PREFIX}flow:{flow_id}:history"  # list of JSON publish/rollback entries


# Callbacks
CALLBACK_QUEUE = f"{PREFIX}callbacks:queue"  # zset: pending request ids scored by requested time


def callback(request_id: str) -> str:
    return f"{PREFIX}callback:{request_id}"  # hash: number, status, attempts (JSON), call_id, times, reason


def callback_rate(number: str, window: int) -> str:
    return f"{PREFIX}callback:rate:{number}:{window}"  # counter of requests for a number in a window


# Chats
def chat_room(room_id: str) -> str:
    return f"{PREFIX}chat:{room_id}"  # hash: call_id, caller, created_at


def chat_messages(room_id: str) -> str:
    return f"{PREFIX}chat:{room_id}:messages"  # stream: author, text, at


def chat_cursor(room_id: str, participant: str) -> str:
    return f"{PREFIX}chat:{room_id}:cursor:{participant}"  # string: last stream id read by a participant


def chat_token(token: str) -> str:
    return f"{PREFIX}chat:token:{token}"  # string: room id, expires with the link


# SMS conversations (text mode of a flow)
def sms_conversation(caller: str, called: str) -> str:
    return f"{PREFIX}sms:{called}:{caller}"  # hash: call_id, first_sid, last_sid, done


# Spool replay
def spool_marker(entry_id: str) -> str:
    return f"{PREFIX}spool:applied:{entry_id}"
