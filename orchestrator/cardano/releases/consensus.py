"""The releases that read `ConsensusMode` and the one whose Genesis node refuses an old peer
snapshot: floors, not records (no catalogued record is a 10.2 or 10.6.2 release), with their sources
at the tags of IntersectMBO/cardano-node. cardano/consensus_mode.py applies them.
"""

from __future__ import annotations

# POM @10.2.1 L355 `pncConsensusMode <- Last <$> v .:? "ConsensusMode"`; absent @10.1.4.
GENESIS_MODE_SINCE = "10.2.0"
# RUN @10.6.2 (and @10.6.4 L797-799) `GenesisMode -> … throwIO (LedgerPeerSnapshotTooOld …)`; absent @10.6.1.
GENESIS_SNAPSHOT_AGE_FATAL_SINCE = "10.6.2"
