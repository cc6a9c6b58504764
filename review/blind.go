package review

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
)

// ---- blinded case names
//
// Case ids exist only for the admin, the exports and the log: a reader's
// session names every case by an opaque key of its own, and refuses case
// ids, so no sequence of requests maps a key to the id (which may name the
// centre, as phantom ids like c003_D do).

// CaseKey is the opaque name a reader sees for a case: an HMAC of the reader
// and the case id under a secret kept in the database, so it is stable
// across restarts, differs between readers and reveals nothing of the id.
func (s *Server) CaseKey(readerID int64, caseID string) string {
	m := hmac.New(sha256.New, s.keyMAC)
	fmt.Fprintf(m, "%d\x00%s", readerID, caseID)
	return "k" + hex.EncodeToString(m.Sum(nil))[:20]
}

// idOut is how a case is named to the session: always by its key.
func (s *Server) idOut(a authed, caseID string) string {
	return s.CaseKey(a.reader.ID, caseID)
}

// resolveID maps a case key from a request to the case id. Anything else,
// a case id included, is not found: answering to case ids would let a
// reader try the ids (often guessable) and learn which key is which case.
func (s *Server) resolveID(a authed, key string) (string, error) {
	if len(key) == 21 && key[0] == 'k' {
		for _, c := range s.o.Study.Cases {
			if hmac.Equal([]byte(s.CaseKey(a.reader.ID, c.ID)), []byte(key)) {
				return c.ID, nil
			}
		}
	}
	return "", errStatus(http.StatusNotFound, "no such case")
}
