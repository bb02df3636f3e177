"""Exact lookup of PDQ hashes: the fast multi-index (`PdqIndex`) and its brute-force oracle.

Hashes are packed `uint8[n, 32]` arrays inside (see `codec`); hex only at the edges.
"""

from vigil.index.brute import BruteForceIndex
from vigil.index.codec import MATCH_DTYPE, codes_to_hex, hex_to_codes
from vigil.index.pdq_index import Layout, PdqIndex

__all__ = ["MATCH_DTYPE", "BruteForceIndex", "Layout", "PdqIndex", "codes_to_hex", "hex_to_codes"]
