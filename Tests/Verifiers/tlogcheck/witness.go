// The witness modes of tlogcheck: code the project did not write acting as a C2SP
// tlog-cosignature/v1 witness (Go's crypto/ed25519), and checking cosigned checkpoints with
// golang.org/x/mod/sumdb/note, whose Open takes any note.Verifier: the cosignature verifier here
// is the spec's few lines (Debian's x/mod 0.7 predates cosignature/v1 keys).
//
//	tlogcheck -keygen NAME
//	    prints a new witness's verifier key (NAME+keyid+base64(0x04 ‖ public key)) and, on a
//	    second line, its private seed in hex
//	tlogcheck -cosign NAME SEEDHEX LOGVKEY TIME < note
//	    checks the log's signature on the checkpoint note with LOGVKEY, as a witness does, and
//	    prints the note with a cosignature/v1 line added, dated TIME (seconds since the epoch)
//	tlogcheck -cosigned LOGVKEY WITNESSVKEY... < note
//	    opens the note with the log's key and the witnesses' keys; prints
//	    "OK <origin> <tree size> <root hex> <witnesses>" when the log and every witness signed it,
//	    INVALID: why otherwise (exit 1)
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

const cosignatureAlgorithm = 0x04

func cosignatureKeyID(name string, public ed25519.PublicKey) []byte {
	digest := sha256.Sum256(append(append([]byte(name+"\n"), cosignatureAlgorithm), public...))
	return digest[:4]
}

// cosignatureVerifier verifies tlog-cosignature/v1 signatures: u64 time ‖ Ed25519 signature over
// "cosignature/v1\ntime <time>\n" ‖ the note text.
type cosignatureVerifier struct {
	name   string
	hash   uint32
	public ed25519.PublicKey
}

func (v cosignatureVerifier) Name() string    { return v.name }
func (v cosignatureVerifier) KeyHash() uint32 { return v.hash }
func (v cosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	time := binary.BigEndian.Uint64(sig[:8])
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", time)), msg...)
	return ed25519.Verify(v.public, signed, sig[8:])
}

func parseCosignatureKey(vkey string) (cosignatureVerifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return cosignatureVerifier{}, errors.New("a witness key is name+keyid+base64")
	}
	id, err := hex.DecodeString(parts[1])
	raw, err2 := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || err2 != nil || len(id) != 4 || len(raw) != 1+ed25519.PublicKeySize || raw[0] != cosignatureAlgorithm {
		return cosignatureVerifier{}, errors.New("a witness key is name+8 hex+base64(0x04 ‖ 32-byte key)")
	}
	public := ed25519.PublicKey(raw[1:])
	if !bytes.Equal(id, cosignatureKeyID(parts[0], public)) {
		return cosignatureVerifier{}, errors.New("the witness key's ID does not match its name and key")
	}
	return cosignatureVerifier{name: parts[0], hash: binary.BigEndian.Uint32(id), public: public}, nil
}

// runWitnessMode runs a witness mode when the arguments name one, and reports whether they did.
func runWitnessMode(args []string) bool {
	if len(args) < 2 {
		return false
	}
	switch {
	case args[1] == "-keygen" && len(args) == 3:
		public, private, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			fail(err)
		}
		id := cosignatureKeyID(args[2], public)
		fmt.Printf("%s+%s+%s\n", args[2], hex.EncodeToString(id),
			base64.StdEncoding.EncodeToString(append([]byte{cosignatureAlgorithm}, public...)))
		fmt.Println(hex.EncodeToString(private.Seed()))
	case args[1] == "-cosign" && len(args) == 6:
		msg, err := io.ReadAll(os.Stdin)
		if err != nil {
			fail(err)
		}
		seed, err := hex.DecodeString(args[3])
		if err != nil || len(seed) != ed25519.SeedSize {
			fail(errors.New("the seed is 64 hex characters"))
		}
		time, err := strconv.ParseUint(args[5], 10, 63)
		if err != nil {
			fail(errors.New("the time is a whole number of seconds"))
		}
		logKey, err := note.NewVerifier(args[4])
		if err != nil {
			fail(err)
		}
		opened, err := note.Open(msg, note.VerifierList(logKey))
		if err != nil {
			fail(err)
		}
		private := ed25519.NewKeyFromSeed(seed)
		public := private.Public().(ed25519.PublicKey)
		signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", time)), opened.Text...)
		sig := make([]byte, 8, 8+ed25519.SignatureSize)
		binary.BigEndian.PutUint64(sig, time)
		sig = append(sig, ed25519.Sign(private, signed)...)
		line := fmt.Sprintf("\u2014 %s %s\n", args[2],
			base64.StdEncoding.EncodeToString(append(cosignatureKeyID(args[2], public), sig...)))
		os.Stdout.Write(append(msg, line...))
	case args[1] == "-cosigned" && len(args) >= 3:
		msg, err := io.ReadAll(os.Stdin)
		if err != nil {
			fail(err)
		}
		logKey, err := note.NewVerifier(args[2])
		if err != nil {
			fail(err)
		}
		verifiers := []note.Verifier{logKey}
		for _, vkey := range args[3:] {
			witness, err := parseCosignatureKey(vkey)
			if err != nil {
				fail(err)
			}
			verifiers = append(verifiers, witness)
		}
		opened, err := note.Open(msg, note.VerifierList(verifiers...))
		if err != nil {
			fail(err)
		}
		for _, want := range verifiers {
			found := false
			for _, sig := range opened.Sigs {
				found = found || (sig.Name == want.Name() && sig.Hash == want.KeyHash())
			}
			if !found {
				fail(fmt.Errorf("%s did not sign the note", want.Name()))
			}
		}
		summary, err := openCheckpoint(args[2], msg)
		if err != nil {
			fail(err)
		}
		fmt.Println("OK", summary, len(verifiers)-1)
	default:
		return false
	}
	return true
}

func fail(err error) {
	fmt.Println("INVALID:", err)
	os.Exit(1)
}
