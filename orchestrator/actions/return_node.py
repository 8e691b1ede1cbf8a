"""return_node: a command that puts the host back into rotation after its gate passed (or after its
rollback put it back in sync): the other half of drain_node, with the same arguments. A failing
return is reported loudly and stops the rollout: the host runs, in sync, but gets no work."""

from __future__ import annotations

from orchestrator.actions.drain_node import hook_action

ACTION = hook_action("return", "after the gate passed (or after a rollback back in sync), run command (sh -c) on the "
                               "host or on delegate_to, killed after timeout_seconds; a failure stops the rollout")
