"""What an operator runs on a live cluster: ``redis-cli --cluster check / fix / rebalance / del-node``.

Mixed into :class:`course.sandbox.cluster.LocalCluster`. Every operation here goes through
``redis-cli`` as an operator would (slots move only through redis-cli in the sandbox); its report,
colours removed, is returned and kept in ``redis_cli_output``. Removing a node can also be done
with our own ``CLUSTER FORGET`` commands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from course.sandbox.cluster_ops import Via
from course.sandbox.cluster_view import LocalNode


class ClusterAdmin:
    """check / fix / rebalance / remove_node, for :class:`LocalCluster`."""

    if TYPE_CHECKING:  # provided by LocalCluster and ClusterOperations
        _nodes: list[LocalNode]
        ready_timeout: float

        def _refresh(self) -> None: ...
        def wait_ready(self, timeout: float | None = None) -> None: ...
        def redis_cli(
            self, subcommand: str, *args: str, timeout: float = 60.0, check: bool = True
        ) -> str: ...
        @staticmethod
        def _owned_slots(node: LocalNode) -> set[int]: ...

    def _entry_point(self, avoid: LocalNode | None = None) -> LocalNode:
        """A responsive node to point redis-cli at."""
        for node in self._nodes:
            if node.responsive and node is not avoid:
                return node
        raise ValueError("No node of the cluster answers: start or resume one first.")

    def check(self, timeout: float = 60.0) -> str:
        """``redis-cli --cluster check``: do all nodes agree, is any slot open, is every slot covered?

        Returns the report whatever it finds (redis-cli exits with 1 when it finds a problem).
        """
        return self.redis_cli("check", self._entry_point().address, timeout=timeout, check=False)

    def fix(self, timeout: float | None = None) -> str:
        """``redis-cli --cluster fix``: close open slots and cover unassigned ones; wait until ready."""
        limit = self.ready_timeout if timeout is None else timeout
        report = self.redis_cli("fix", self._entry_point().address, timeout=limit)
        self.wait_ready(timeout)
        return report

    def rebalance(
        self,
        weights: Mapping[LocalNode, float] | None = None,
        *,
        simulate: bool = False,
        use_empty_masters: bool = False,
        threshold: float | None = None,
        timeout: float | None = None,
    ) -> str:
        """``redis-cli --cluster rebalance``: move slots until each master holds its share.

        Shares are equal, or in proportion to ``weights`` (masters left out weigh 1).
        ``simulate`` prints the plan and moves nothing; ``use_empty_masters`` gives masters
        without slots a share too; ``threshold`` is the imbalance (in percent) below which
        redis-cli does nothing (its default is 2). Waits until the cluster is ready again.
        """
        args = [self._entry_point().address]
        if weights:
            args += ["--cluster-weight", *(f"{node.node_id}={weight:g}" for node, weight in weights.items())]
        if simulate:
            args.append("--cluster-simulate")
        if use_empty_masters:
            args.append("--cluster-use-empty-masters")
        if threshold is not None:
            args += ["--cluster-threshold", f"{threshold:g}"]
        limit = self.ready_timeout if timeout is None else timeout
        report = self.redis_cli("rebalance", *args, timeout=limit)
        if not simulate:
            self.wait_ready(timeout)
        return report

    def remove_node(self, node: LocalNode, *, via: Via = "redis-cli", timeout: float | None = None) -> None:
        """Take an empty node out of the cluster for good; its server is then closed.

        ``via="redis-cli"`` runs ``redis-cli --cluster del-node``, which sends ``CLUSTER FORGET``
        to every other node and resets the removed one; ``via="commands"`` sends the
        ``CLUSTER FORGET`` commands ourselves. Either way every other node must forget it within
        60 s, the time Redis keeps a forgotten id out of its gossip. The node leaves
        :attr:`nodes`; waits until the cluster is ready without it.
        """
        if via not in ("commands", "redis-cli"):
            raise ValueError(f"via must be 'commands' or 'redis-cli', not {via!r}.")
        self._refresh()
        if node not in self._nodes:
            raise ValueError(f"{node.name} is not a member of this cluster.")
        if not node.responsive:
            raise ValueError(f"{node.name} must be running (and not paused) to be removed.")
        slots = len(self._owned_slots(node))
        if slots:
            raise ValueError(f"{node.name} still serves {slots} slots: move them away first.")
        replicas = [other.name for other in self._nodes if other.running and other.master_id == node.node_id]
        if replicas:
            raise ValueError(f"{node.name} has replicas ({', '.join(replicas)}): remove or move them first.")
        if via == "redis-cli":
            limit = self.ready_timeout if timeout is None else timeout
            self.redis_cli("del-node", self._entry_point(avoid=node).address, node.node_id, timeout=limit)
        else:
            for other in self._nodes:
                if other is not node and other.responsive:
                    other.command("CLUSTER", "FORGET", node.node_id)
        self._nodes.remove(node)
        node.server.close()
        self.wait_ready(timeout)
