// Package crypto is the part of sigsum.org/sigsum-go/pkg/crypto that witnessctl v0.6.1 uses,
// for hosts that cannot fetch sigsum-go (see scripts/install-litewitness.sh). Same values:
// Ed25519 public keys of 32 bytes, SHA-256 hashes.
package crypto

import "crypto/sha256"

const PublicKeySize = 32

type PublicKey [PublicKeySize]byte

type Hash [sha256.Size]byte

func HashBytes(b []byte) Hash { return sha256.Sum256(b) }
