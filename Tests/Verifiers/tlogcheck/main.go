// tlogcheck checks ConsentLedger's Merkle proofs with code the project did not write: Go's
// golang.org/x/mod/sumdb/tlog (the Go checksum database's transparency log), as Debian packages
// it (golang-golang-x-mod-dev).
//
// With -note VERIFIERKEY it instead reads one C2SP signed note (a checkpoint, as `ledgerctl
// checkpoint --format note` prints it and GET /checkpoint serves it) and opens it with
// golang.org/x/mod/sumdb/note: it prints "OK <origin> <tree size> <root hash, hex>" when the key
// signed it, or INVALID: why, and exits 1 then.
//
// With -tiles DIR it instead checks a log published as C2SP tlog-tiles (https://c2sp.org/tlog-tiles),
// as `ledgerctl export --tiles DIR` writes it: it reads DIR/checkpoint (opened with sumdb/note when
// -note VERIFIERKEY is given too, else its text read unchecked), reads the tiles through
// tlog.TileHashReader, which authenticates every tile it reads against the checkpoint's root,
// recomputes the root with tlog.TreeHash, checks every entry bundle (the number of entries, and
// that each entry's leaf, tlog.RecordHash(entry), is the level-0 tile's hash — the standard rule;
// each entry is an event's 32-byte hash) and every bundle of export records the ledger publishes
// beside them at records/<N>[.p/<W>] (each record's "hash" is its entry, its "seq" its index + 1),
// and proves a few entries with tlog.ProveRecord and tlog.CheckRecord. It prints "OK <origin> <tree size> <root hash, hex>" or
// INVALID: why, and exits 1 then. The tile paths are C2SP's: Go's Tile.Path() without the
// height element, "entries" for Go's "data".
//
// Otherwise it reads proofs as `ledgerctl prove --seq` / `--consistency` and GET /v1/proofs/… print them
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
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// checkpoint is what a C2SP tlog-checkpoint says: origin, tree size, root hash.
type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func (c checkpoint) String() string {
	return fmt.Sprintf("%s %d %s", c.origin, c.size, hex.EncodeToString(c.root[:]))
}

// parseCheckpoint reads a checkpoint note's text: origin, tree size, base64 root hash.
func parseCheckpoint(text string) (checkpoint, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return checkpoint{}, errors.New("a checkpoint has an origin, a tree size and a root hash")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return checkpoint{}, errors.New("the tree size is not a decimal number")
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return checkpoint{}, errors.New("the root hash is not 32 bytes of base64")
	}
	c := checkpoint{origin: lines[0], size: size}
	copy(c.root[:], root)
	return c, nil
}

// openCheckpoint opens a signed note with the verifier key and reads its checkpoint lines.
func openCheckpoint(key string, text []byte) (checkpoint, error) {
	verifier, err := note.NewVerifier(key)
	if err != nil {
		return checkpoint{}, fmt.Errorf("%w: verifier key: %v", errMalformed, err)
	}
	opened, err := note.Open(text, note.VerifierList(verifier))
	if err != nil {
		return checkpoint{}, err
	}
	return parseCheckpoint(opened.Text)
}

// tileDir reads the tiles of a C2SP tlog-tiles directory: a tlog.TileReader.
type tileDir struct{ dir string }

// path is where C2SP keeps tile t: Go's tile/H/L/N[.p/W] without the height, "entries" for
// Go's level -1 ("data").
func (d tileDir) path(t tlog.Tile) string {
	parts := strings.SplitN(t.Path(), "/", 3) // "tile", "8", "<L>/<N>[.p/<W>]"
	rest := parts[2]
	if strings.HasPrefix(rest, "data/") {
		rest = "entries/" + strings.TrimPrefix(rest, "data/")
	}
	return filepath.Join(d.dir, "tile", filepath.FromSlash(rest))
}

// recordsPath is where the ledger keeps the export records of entry bundle t, beside the tiles.
func (d tileDir) recordsPath(t tlog.Tile) string {
	entries := d.path(t)
	rel, _ := filepath.Rel(filepath.Join(d.dir, "tile", "entries"), entries)
	return filepath.Join(d.dir, "records", rel)
}

func (d tileDir) Height() int { return 8 }

func (d tileDir) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		bytes, err := os.ReadFile(d.path(t))
		if err != nil {
			return nil, err
		}
		if len(bytes) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("%s has %d bytes, not %d", d.path(t), len(bytes), t.W*tlog.HashSize)
		}
		data[i] = bytes
	}
	return data, nil
}

func (d tileDir) SaveTiles([]tlog.Tile, [][]byte) {}

// entries splits an entry bundle into its entries: each a big-endian uint16 length, then bytes.
func entries(bundle []byte) ([][]byte, error) {
	var out [][]byte
	for len(bundle) > 0 {
		if len(bundle) < 2 {
			return nil, errors.New("an entry's length is cut off")
		}
		n := int(binary.BigEndian.Uint16(bundle))
		if len(bundle) < 2+n {
			return nil, errors.New("an entry is cut off")
		}
		out = append(out, bundle[2:2+n])
		bundle = bundle[2+n:]
	}
	return out, nil
}

// checkTiles checks the log published in dir, as the comment at the top says.
func checkTiles(dir, key string) (checkpoint, error) {
	text, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		return checkpoint{}, err
	}
	var c checkpoint
	if key != "" {
		c, err = openCheckpoint(key, text)
	} else if body, _, found := strings.Cut(string(text), "\n\n"); found {
		c, err = parseCheckpoint(body + "\n")
	} else {
		err = errors.New("the checkpoint is not a signed note")
	}
	if err != nil {
		return c, err
	}
	if c.size == 0 {
		if c.root != sha256.Sum256(nil) {
			return c, errors.New("the empty tree's root is not SHA-256 of nothing")
		}
		return c, nil
	}
	tiles := tileDir{dir}
	hashes := tlog.TileHashReader(tlog.Tree{N: c.size, Hash: c.root}, tiles)
	root, err := tlog.TreeHash(c.size, hashes)
	if err != nil {
		return c, fmt.Errorf("the tree hash: %v", err)
	}
	if root != c.root {
		return c, fmt.Errorf("the tiles give the root %v, the checkpoint %v", root, c.root)
	}
	leaves := make([]tlog.Hash, c.size)
	for n := int64(0); n*256 < c.size; n++ {
		first := n * 256
		width := c.size - first
		if width > 256 {
			width = 256
		}
		tile := tlog.Tile{H: 8, L: -1, N: n, W: int(width)}
		bundle, err := os.ReadFile(tiles.path(tile))
		if err != nil {
			return c, err
		}
		hashesOfEvents, err := entries(bundle)
		if err != nil {
			return c, fmt.Errorf("entry bundle %d: %v", n, err)
		}
		if int64(len(hashesOfEvents)) != width {
			return c, fmt.Errorf("entry bundle %d holds %d entries, not %d", n, len(hashesOfEvents), width)
		}
		recordBundle, err := os.ReadFile(tiles.recordsPath(tile))
		if err != nil {
			return c, err
		}
		records, err := entries(recordBundle)
		if err != nil {
			return c, fmt.Errorf("record bundle %d: %v", n, err)
		}
		if int64(len(records)) != width {
			return c, fmt.Errorf("record bundle %d holds %d records, not %d", n, len(records), width)
		}
		indexes := make([]int64, width)
		for i := range indexes {
			indexes[i] = tlog.StoredHashIndex(0, first+int64(i))
		}
		stored, err := hashes.ReadHashes(indexes)
		if err != nil {
			return c, fmt.Errorf("the leaves of entry bundle %d: %v", n, err)
		}
		for i, entry := range hashesOfEvents {
			// The standard rule: an entry's leaf is RecordHash(entry), the level-0 tile's hash.
			leaves[first+int64(i)] = tlog.RecordHash(entry)
			if leaves[first+int64(i)] != stored[i] {
				return c, fmt.Errorf("entry %d's leaf is not the level-0 tile's hash", first+int64(i))
			}
			var fields struct {
				Seq  int64  `json:"seq"`
				Hash string `json:"hash"`
			}
			if err := json.Unmarshal(records[i], &fields); err != nil {
				return c, fmt.Errorf("record %d is not an export record: %v", first+int64(i), err)
			}
			if fields.Seq != first+int64(i)+1 {
				return c, fmt.Errorf("record %d has seq %d", first+int64(i), fields.Seq)
			}
			if fields.Hash != hex.EncodeToString(entry) {
				return c, fmt.Errorf("record %d's hash is not entry %d", first+int64(i), first+int64(i))
			}
		}
	}
	if err := checkEveryTile(tiles, c, leaves); err != nil {
		return c, err
	}
	for _, index := range []int64{0, c.size / 2, c.size - 1} {
		proof, err := tlog.ProveRecord(c.size, index, hashes)
		if err == nil {
			err = tlog.CheckRecord(proof, c.size, c.root, index, leaves[index])
		}
		if err != nil {
			return c, fmt.Errorf("the inclusion proof of entry %d: %v", index, err)
		}
	}
	return c, nil
}

// checkEveryTile builds the tree of the entries' leaves with tlog.StoredHashesForRecordHash,
// checks its root against the checkpoint's, and checks every hash tile of the tree, byte for
// byte, against tlog.ReadTileData of that tree. TileHashReader alone is not enough: in x/mod 0.7
// it authenticates the tiles it fetches for an index against their parents only from position
// len(stx) of its list, so a full tile may go unchecked when several of the tree hash's subtrees
// share one tile.
func checkEveryTile(tiles tileDir, c checkpoint, leaves []tlog.Hash) error {
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x < 0 || x >= int64(len(stored)) {
				return nil, fmt.Errorf("no stored hash %d", x)
			}
			out[i] = stored[x]
		}
		return out, nil
	})
	for n, leaf := range leaves {
		more, err := tlog.StoredHashesForRecordHash(int64(n), leaf, reader)
		if err != nil {
			return err
		}
		stored = append(stored, more...)
	}
	root, err := tlog.TreeHash(c.size, reader)
	if err != nil {
		return err
	}
	if root != c.root {
		return fmt.Errorf("the entries give the root %v, the checkpoint %v", root, c.root)
	}
	for level := 0; c.size>>(8*level) > 0; level++ {
		hashes := c.size >> (8 * level)
		for n := int64(0); n*256 < hashes; n++ {
			width := hashes - n*256
			if width > 256 {
				width = 256
			}
			t := tlog.Tile{H: 8, L: level, N: n, W: int(width)}
			want, err := tlog.ReadTileData(t, reader)
			if err != nil {
				return err
			}
			got, err := os.ReadFile(tiles.path(t))
			if err != nil {
				return err
			}
			if string(got) != string(want) {
				return fmt.Errorf("%s is not the tile of the entries' tree", tiles.path(t))
			}
		}
	}
	return nil
}

func main() {
	if runWitnessMode(os.Args) {
		return
	}
	key := flag.String("note", "", "a verifier key: open the signed note on standard input (or DIR/checkpoint with -tiles)")
	dir := flag.String("tiles", "", "check the C2SP tlog-tiles log in this directory")
	flag.Parse()
	if *dir != "" || *key != "" {
		var c checkpoint
		var err error
		if *dir != "" {
			c, err = checkTiles(*dir, *key)
		} else {
			var text []byte
			if text, err = io.ReadAll(os.Stdin); err == nil {
				c, err = openCheckpoint(*key, text)
			}
		}
		if err != nil {
			fmt.Println("INVALID:", err)
			os.Exit(1)
		}
		fmt.Println("OK", c)
		return
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
