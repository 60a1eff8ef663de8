// Package merkle is the part of sigsum.org/sigsum-go/pkg/merkle that witnessctl v0.6.1 uses:
// the RFC 6962 empty tree hash, SHA-256 of the empty string.
package merkle

import (
	"crypto/sha256"

	"sigsum.org/sigsum-go/pkg/crypto"
)

func HashEmptyTree() crypto.Hash { return crypto.Hash(sha256.Sum256(nil)) }
