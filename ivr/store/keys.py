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
PHONE_RATE_WINDOW = 1 * DAY  # window of the per-number and overall callback and SMS counters (ivr/phone)
CHAT_RETENTION = 30 * DAY  # a chat room (stream + metadata) after its last message
SPOOL_MARKER_TTL = 7 * DAY  # "this spool entry was applied" markers, so a replay never applies one twice
SMS_CONVERSATION_TTL = 30 * 60  # an SMS conversation ends after this long without a message

RETENTION = {
    "call": CALL_RETENTION,
    "call state": STATE_TTL,
    "follow-up": FOLLOWUP_RETENTION,
    "flow revision": FLOW_RETENTION,
    "callback request": CALLBACK_RETENTION,
    "phone rate counter": 2 * PHONE_RATE_WINDOW,
    "chat room": CHAT_RETENTION,
    "spool marker": SPOOL_MARKER_TTL,
    "sms conversation": SMS_CONVERSATION_TTL,
    "analytics counters": 400 * DAY,
    "audit log": None,  # capped at AUDIT_KEPT entries instead
    "sip account": None,  # until an operator removes it
    "routing table": None,  # until an operator changes it
    "holiday calendar copy": None,  # the last good copy of a feed, until a newer one replaces it
}


# Calls
def call(call_id: str) -> str:
    return f"{PREFIX}call:{call_id}"  # hash: the call record


def call_timeline(call_id: str) -> str:
    return f"{PREFIX}call:{call_id}:timeline"  # list of JSON entries, oldest first


def call_jobs(call_id: str) -> str:
    return f"{PREFIX}call:{call_id}:jobs"  # list of job ids, in order


def call_playing(call_id: str) -> str:
    return f"{PREFIX}call:{call_id}:playing"  # string: JSON of the prompt playing now (SIP), expires after an hour


def call_state(call_id: str) -> str:
    return f"{PREFIX}call:{call_id}:state"  # hash: version, blob (JSON engine state + recent turns)


CALLS_BY_TIME = f"{PREFIX}calls:by_time"  # zset: call id scored by started_at
CALLS_LIVE = f"{PREFIX}calls:live"  # set of call ids not yet finished


# Follow-ups (one per RQ job; the job id is the engine's idempotency key)
def followup(job_id: str) -> str:
    return f"{PREFIX}followup:{job_id}"  # hash: kind, call_id, status, attempts, detail, times


FOLLOWUPS_TROUBLED = f"{PREFIX}followups:troubled"  # zset: job ids now failed, retrying or refused, by last update


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


# Rate limits of the phone-number policy: `purpose` is "callback" or "sms", `number` always E.164
def phone_rate(purpose: str, number: str, window: int) -> str:
    return f"{PREFIX}phone:rate:{purpose}:{number}:{window}"  # counter: requests for one number in a window


def phone_rate_total(purpose: str, window: int) -> str:
    return f"{PREFIX}phone:rate:{purpose}:*all*:{window}"  # counter: requests for every number in a window


def phone_rate_request(purpose: str, request_id: str) -> str:
    return f"{PREFIX}phone:rate:{purpose}:request:{request_id}"  # string: the verdict a request (job) got


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


CHAT_ROOMS = f"{PREFIX}chat:rooms"  # zset: room id scored by its last activity (the operator's room list)


# Admin: users, API tokens, login rate limits, audit log
USERS = f"{PREFIX}admin:users"  # set of user names
AUDIT_LOG = f"{PREFIX}admin:audit"  # list of JSON entries, newest first, capped
AUDIT_KEPT = 10_000
API_TOKENS = f"{PREFIX}admin:tokens"  # hash: token id -> JSON {name, role, owner, created_at, hash}
LOGIN_WINDOW = 15 * 60  # seconds a login-attempt counter lives after its last attempt (and the longest wait)


def user(name: str) -> str:
    return f"{PREFIX}admin:user:{name}"  # hash: name, role, password_hash, created_at, session_version


def api_token(token_hash: str) -> str:
    return f"{PREFIX}admin:token:{token_hash}"  # string: token id, looked up by the sha256 of the secret


def login_attempts(scope: str, subject: str) -> str:
    # counter of login attempts, scope "pair" (account hash + address) or "address"
    return f"{PREFIX}admin:login-attempts:{scope}:{subject}"


def login_wait(scope: str, subject: str) -> str:
    return f"{PREFIX}admin:login-wait:{scope}:{subject}"  # string whose PTTL is the wait before the next attempt


# Analytics counters, maintained when a call ends (never by scanning calls)
ANALYTICS_RETENTION = 400 * DAY
ANALYTICS_TOTALS = f"{PREFIX}stats:totals"  # hash: all-time counters (for /metrics)
ANALYTICS_OPEN_CALLBACKS = f"{PREFIX}stats:callbacks:open"  # zset: callback request ids not yet final, by time


def analytics_day(day: str) -> str:
    return f"{PREFIX}stats:day:{day}"  # hash: total, channel:X, outcome:X, hour:H, callback:X counters


def analytics_steps(day: str) -> str:
    return f"{PREFIX}stats:day:{day}:steps"  # hash: "flow|step|metric" counters (asked, no_input, choice:X...)


def analytics_counted(call_id: str) -> str:
    return f"{PREFIX}stats:counted:{call_id}"  # marker: this call is already in the counters


ANALYTICS_PENDING = f"{PREFIX}stats:pending"  # set of finished call ids not yet added to the counters


# Process heartbeats (set by `ivr worker` and `ivr sip`, read by /healthz)
HEARTBEAT_TTL = 30


def heartbeat(component: str, node: str = "") -> str:
    """string: JSON {at, pid, host, ...}, expires after HEARTBEAT_TTL; one per node of a component that runs on
    several (`ivr sip` behind Kamailio), so each node's state (draining...) is its own"""
    return f"{PREFIX}heartbeat:{component}" + (f":node:{node}" if node else "")


def heartbeat_nodes(component: str) -> str:
    return f"{PREFIX}heartbeat:{component}:nodes"  # set: node names that beat; a name whose beat expired is dropped


# Callbacks dialled over SIP: the worker pushes JSON requests, the `ivr sip` process answers per request
SIP_DIAL_REQUESTS = f"{PREFIX}sip:dial:requests"  # list: JSON dial requests, oldest first (RPUSH/BLPOP)


def sip_dial_result(reference: str) -> str:
    return f"{PREFIX}sip:dial:{reference}:result"  # list: the one JSON outcome of a dial request (short TTL)


# SIP digest accounts (ivr/store/sip_accounts.py)
SIP_ACCOUNTS = f"{PREFIX}sip:accounts"  # hash: username -> JSON {realm, ha1 per algorithm, created_at}


# Flows per number (ivr/store/routes.py): which flow answers each called number
ROUTES = f"{PREFIX}routes"  # hash: route key (E.164 number or SIP user name) -> flow id
ROUTES_DEFAULT = f"{PREFIX}routes:default"  # string: the flow id for a called number with no row


# Holiday calendar feeds (business_hours `{ical: URL}`): the last good copy and the last attempt, per URL
def calendar_copy(url_digest: str) -> str:
    return f"{PREFIX}calendar:{url_digest}"  # hash: url, text, fetched_at, digest; checked_at, error (last try)


# Hold queues (the queue step, ivr/store/queues.py): who waits, since when, in which place, across calls and nodes
QUEUE_STALE = 90  # seconds: a waiting call whose node stopped touching its entry leaves the queue
QUEUES = f"{PREFIX}queue:names"  # zset: queue name scored by its last activity (the admin's live queue)


def queue_waiting(name: str) -> str:
    return f"{PREFIX}queue:{name}:waiting"  # zset: call id scored by the time it joined (its place in line)


def queue_seen(name: str) -> str:
    return f"{PREFIX}queue:{name}:seen"  # zset: call id scored by the last time its channel touched it


def queue_callers(name: str) -> str:
    return f"{PREFIX}queue:{name}:callers"  # hash: call id -> JSON {caller, joined_at, node, status}


def queue_ring(name: str, call_id: str, slot: int) -> str:
    return f"{PREFIX}queue:{name}:ring:{call_id}:{slot}"  # string: this ring slot's contacts were called (Twilio)
