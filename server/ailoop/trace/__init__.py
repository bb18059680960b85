"""Attribution records in and out: Agent Trace (:mod:`ailoop.trace.agent_trace`)."""
