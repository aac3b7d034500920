// tlogcheck checks ConsentLedger's Merkle proofs with code the project did not write: Go's
// golang.org/x/mod/sumdb/tlog (the Go checksum database's transparency log), as Debian packages
// it (golang-golang-x-mod-dev).
//
// With -note VERIFIERKEY it instead reads one C2SP signed note (a checkpoint, as `ledgerctl
// checkpoint --format note` prints it and GET /checkpoint serves it) and opens it with
// golang.org/x/mod/sumdb/note: it prints "OK <origin> <tree size> <root hash, hex>" when the key
// signed it, or INVALID: why, and exits 1 then.
//
// It reads proofs as `ledgerctl prove --seq` / `--consistency` and GET /v1/proofs/… print them
// (docs/AUDITING.md), one JSON object per line, and prints one line per proof: OK, INVALID: why,
// or MALFORMED: why. It exits 0 when every proof is OK, 1 otherwise.
//
//	{"type":"inclusion","leafIndex":i,"treeSize":n,"eventHash":hex,"rootHash":hex,"hashes":[hex…]}
//	{"type":"consistency","oldSize":m,"oldRootHash":hex,"treeSize":n,"rootHash":hex,"hashes":[hex…]}
//
// The leaf is computed here from the event's hash (tlog.RecordHash: SHA-256(0x00 ‖ data)); a
// "leafHash" field, when present, must equal it. RFC 9162's PATH and SUBPROOF are exactly
// tlog.RecordProof and tlog.TreeProof, in the same order.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type proof struct {
	Type        string   `json:"type"`
	LeafIndex   *int64   `json:"leafIndex"`
	TreeSize    *int64   `json:"treeSize"`
	EventHash   string   `json:"eventHash"`
	LeafHash    string   `json:"leafHash"`
	RootHash    string   `json:"rootHash"`
	OldSize     *int64   `json:"oldSize"`
	OldRootHash string   `json:"oldRootHash"`
	Hashes      []string `json:"hashes"`
}

var errMalformed = errors.New("malformed")

func hash(field, text string) (tlog.Hash, error) {
	var h tlog.Hash
	raw, err := hex.DecodeString(text)
	if err != nil || len(raw) != tlog.HashSize {
		return h, fmt.Errorf("%w: %s is not 64 hex characters", errMalformed, field)
	}
	copy(h[:], raw)
	return h, nil
}

func hashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, text := range list {
		h, err := hash(fmt.Sprintf("hashes[%d]", i), text)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

func number(field string, value *int64) (int64, error) {
	if value == nil {
		return 0, fmt.Errorf("%w: %s is missing", errMalformed, field)
	}
	return *value, nil
}

func check(p proof) error {
	size, err := number("treeSize", p.TreeSize)
	if err != nil {
		return err
	}
	root, err := hash("rootHash", p.RootHash)
	if err != nil {
		return err
	}
	path, err := hashes(p.Hashes)
	if err != nil {
		return err
	}
	switch p.Type {
	case "inclusion":
		index, err := number("leafIndex", p.LeafIndex)
		if err != nil {
			return err
		}
		event, err := hash("eventHash", p.EventHash)
		if err != nil {
			return err
		}
		leaf := tlog.RecordHash(event[:])
		if p.LeafHash != "" {
			given, err := hash("leafHash", p.LeafHash)
			if err != nil {
				return err
			}
			if given != leaf {
				return errors.New("leafHash is not SHA-256(0x00 ‖ eventHash)")
			}
		}
		return tlog.CheckRecord(tlog.RecordProof(path), size, root, index, leaf)
	case "consistency":
		old, err := number("oldSize", p.OldSize)
		if err != nil {
			return err
		}
		oldRoot, err := hash("oldRootHash", p.OldRootHash)
		if err != nil {
			return err
		}
		return tlog.CheckTree(tlog.TreeProof(path), size, root, old, oldRoot)
	}
	return fmt.Errorf("%w: unknown type %q", errMalformed, p.Type)
}

// openCheckpoint opens a signed note with the verifier key and reads its checkpoint lines.
func openCheckpoint(key string, text []byte) (string, error) {
	verifier, err := note.NewVerifier(key)
	if err != nil {
		return "", fmt.Errorf("%w: verifier key: %v", errMalformed, err)
	}
	opened, err := note.Open(text, note.VerifierList(verifier))
	if err != nil {
		return "", err
	}
	lines := strings.Split(strings.TrimSuffix(opened.Text, "\n"), "\n")
	if len(lines) < 3 {
		return "", errors.New("a checkpoint has an origin, a tree size and a root hash")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return "", errors.New("the tree size is not a decimal number")
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return "", errors.New("the root hash is not 32 bytes of base64")
	}
	return fmt.Sprintf("%s %d %s", lines[0], size, hex.EncodeToString(root)), nil
}

func main() {
	if runWitnessMode(os.Args) {
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "-note" {
		text, err := io.ReadAll(os.Stdin)
		if err == nil {
			var summary string
			if summary, err = openCheckpoint(os.Args[2], text); err == nil {
				fmt.Println("OK", summary)
				return
			}
		}
		fmt.Println("INVALID:", err)
		os.Exit(1)
	}
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	failed := false
	for scanner.Scan() {
		if len(scanner.Bytes()) == 0 {
			continue
		}
		var p proof
		err := json.Unmarshal(scanner.Bytes(), &p)
		if err == nil {
			err = check(p)
		}
		switch {
		case err == nil:
			fmt.Println("OK")
		case errors.Is(err, errMalformed):
			failed = true
			fmt.Println("MALFORMED:", err)
		default:
			failed = true
			fmt.Println("INVALID:", err)
		}
	}
	if failed {
		os.Exit(1)
	}
}
