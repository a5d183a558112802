package recordlog

import (
	"encoding/binary"
	"hash/crc32"
	"os"
)

// Append frames a record: uvarint length, CRC-32 (IEEE, little endian) of
// the body, body.
func Append(buf, body []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(body)))
	buf = binary.LittleEndian.AppendUint32(buf, crc32.ChecksumIEEE(body))
	return append(buf, body...)
}

// Next returns the body of the record data begins with and the record's
// length; nil if it is torn or damaged.
func Next(data []byte) ([]byte, int) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)-k) || len(data)-k-int(n) < 4 {
		return nil, 0
	}
	body := data[k+4 : k+4+int(n) : k+4+int(n)]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(data[k:]) {
		return nil, 0
	}
	return body, k + 4 + int(n)
}

// AppendString appends a length-prefixed string field.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendBytes appends a length-prefixed byte field.
func AppendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// AppendInt appends a varint field.
func AppendInt(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

// AppendCount appends a number of items that follow.
func AppendCount(b []byte, n int) []byte { return binary.AppendUvarint(b, uint64(n)) }

// Decoder reads the fields of a body; Bad is set at the first one that
// does not fit, and every later read returns zero.
type Decoder struct {
	B   []byte // what is left to read
	Bad bool
}

// Bytes reads a byte field; the result shares the body's memory.
func (d *Decoder) Bytes() []byte {
	l, m := binary.Uvarint(d.B)
	if d.Bad || m <= 0 || l > uint64(len(d.B)-m) {
		d.Bad = true
		return nil
	}
	out := d.B[m : m+int(l) : m+int(l)]
	d.B = d.B[m+int(l):]
	return out
}

// String reads a string field.
func (d *Decoder) String() string { return string(d.Bytes()) }

// Int reads a varint field.
func (d *Decoder) Int() int64 {
	v, m := binary.Varint(d.B)
	if d.Bad || m <= 0 {
		d.Bad = true
		return 0
	}
	d.B = d.B[m:]
	return v
}

// Count reads a number of items, each at least one byte long, so that a
// damaged count cannot ask for more items than bytes are left.
func (d *Decoder) Count() int {
	l, m := binary.Uvarint(d.B)
	if d.Bad || m <= 0 || l > uint64(len(d.B)-m) {
		d.Bad = true
		return 0
	}
	d.B = d.B[m:]
	return int(l)
}

// Done reports whether the body was read exactly: no field was bad and
// nothing is left over.
func (d *Decoder) Done() bool { return !d.Bad && len(d.B) == 0 }

// AppendAt writes data at offset off of an existing file and cuts the
// file there: appending records to a log whose valid part ends at off.
func AppendAt(path string, data []byte, off int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, off)
	if err == nil {
		err = f.Truncate(off + int64(len(data)))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
