"""Fixtures of the cluster tests (helpers in clusterlib.py):

    make_cluster(n, replicas=0)   n nodes joined by redis-cli --cluster
                                  create, stopped at teardown
    cluster3                      module-scoped 3 masters (binary under test)
    redis_cluster3                module-scoped 3 masters of redis-server 7.0
    single_node(extra)            one node in cluster mode, no peers
"""

import pytest

from .clusterlib import (IS_REDIS, ClusterNode, cluster_create,
                         wait_cluster_ok)


@pytest.fixture(scope="session")
def tessera_kind():
    return "redis" if IS_REDIS else "tessera"


@pytest.fixture
def make_cluster(tessera_kind):
    made = []

    def make(n=3, kind=None, extra=(), replicas=0):
        nodes = [ClusterNode(kind or tessera_kind, extra, "n%d" % i).start()
                 for i in range(n)]
        made.extend(nodes)
        cluster_create(nodes, replicas)
        wait_cluster_ok(nodes)
        return nodes

    yield make
    for n in made:
        n.cleanup()


def _module_cluster(kind):
    nodes = [ClusterNode(kind, (), "m%d" % i).start() for i in range(3)]
    try:
        cluster_create(nodes)
        wait_cluster_ok(nodes)
    except Exception:
        for n in nodes:
            n.cleanup()
        raise
    return nodes


@pytest.fixture(scope="module")
def cluster3(tessera_kind):
    nodes = _module_cluster(tessera_kind)
    yield nodes
    for n in nodes:
        n.cleanup()


@pytest.fixture(scope="module")
def redis_cluster3():
    nodes = _module_cluster("redis")
    yield nodes
    for n in nodes:
        n.cleanup()


@pytest.fixture
def single_node(tessera_kind):
    made = []

    def make(extra=()):
        n = ClusterNode(tessera_kind, extra, "single").start()
        made.append(n)
        return n

    yield make
    for n in made:
        n.cleanup()
