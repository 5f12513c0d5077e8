"""RQ tasks that carry out the engine's `Job` actions: email, sms, webhook, chat, callback (one module each).

How a follow-up is queued (kinds, RQ function names, retries, `queue_commands`) lives in
ivr/call_session/followups.py, the layer that queues them; it is re-exported here for the tasks and the worker.
"""

from ivr.call_session.followups import FUNCTIONS, JOB_TIMEOUT, QUEUE_NAME, RESULT_TTL, RETRIES, rq_job_id

__all__ = ["FUNCTIONS", "JOB_TIMEOUT", "QUEUE_NAME", "RESULT_TTL", "RETRIES", "rq_job_id"]
