package trusttest

import "encoding/pem"

func encodePEM(typ string, b []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b})
}
