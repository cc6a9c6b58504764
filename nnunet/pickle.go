package nnunet

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// checkPickle walks a pickle stream's opcodes without building anything
// and rejects one whose length-prefixed arguments claim more bytes than the
// stream holds. gopickle allocates such arguments before reading them, so a
// corrupt length would otherwise ask for gigabytes; this is the size cap
// from the headers. It does not interpret the program (gopickle does).
func checkPickle(b []byte) error {
	i := 0
	need := func(n uint64) error {
		if n > uint64(len(b)-i) {
			return fmt.Errorf("pickle: argument of %d bytes at offset %d runs past the end (%d bytes)", n, i, len(b))
		}
		return nil
	}
	line := func() error {
		for j := i; j < len(b); j++ {
			if b[j] == '\n' {
				i = j + 1
				return nil
			}
		}
		return fmt.Errorf("pickle: unterminated line at offset %d", i)
	}
	for i < len(b) {
		op := b[i]
		i++
		switch op {
		case '.': // STOP
			return nil
		case '(', '0', '1', '2', 'N', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o', 's', 't', ')', 'u', 'Q', 'R',
			0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x97, 0x98:
		case 'K', 'h', 'q', 0x82, 0x80:
			i++
		case 'M', 0x83:
			i += 2
		case 'J', 'j', 'r', 0x84:
			i += 4
		case 'G':
			i += 8
		case 'I', 'L', 'F', 'S', 'V', 'P', 'g', 'p':
			if err := line(); err != nil {
				return err
			}
		case 'c', 'i': // GLOBAL, INST: module and name lines
			if err := line(); err != nil {
				return err
			}
			if err := line(); err != nil {
				return err
			}
		case 'U', 'C', 0x8c, 0x8a: // one-byte length
			if err := need(1); err != nil {
				return err
			}
			n := uint64(b[i])
			i++
			if err := need(n); err != nil {
				return err
			}
			i += int(n)
		case 'T', 'B', 'X', 0x8b: // four-byte length
			if err := need(4); err != nil {
				return err
			}
			n := uint64(binary.LittleEndian.Uint32(b[i:]))
			i += 4
			if err := need(n); err != nil {
				return err
			}
			i += int(n)
		case 0x8d, 0x8e, 0x96: // eight-byte length
			if err := need(8); err != nil {
				return err
			}
			n := binary.LittleEndian.Uint64(b[i:])
			i += 8
			if err := need(n); err != nil {
				return err
			}
			i += int(n)
		case 0x95: // FRAME: its opcodes follow inline
			if err := need(8); err != nil {
				return err
			}
			n := binary.LittleEndian.Uint64(b[i:])
			i += 8
			if err := need(n); err != nil {
				return err
			}
		default:
			return fmt.Errorf("pickle: unknown opcode 0x%02x at offset %d", op, i-1)
		}
		if i > len(b) {
			break
		}
	}
	return errors.New("pickle: no STOP opcode before the end")
}
