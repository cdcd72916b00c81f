package media

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// maxExifRead is how much of a PNG eXIf or WebP EXIF chunk is read for
// its orientation: IFD0 comes first in every writer's output, and a
// chunk that claims gigabytes must not get them allocated.
const maxExifRead = 1 << 20

// readExifOrientation reads up to maxExifRead bytes of an n-byte EXIF
// chunk from r and returns its orientation. PNG's eXIf and WebP's EXIF
// hold a bare TIFF structure; some writers put JPEG's "Exif\0\0" before
// it, which is allowed for here.
func readExifOrientation(r io.Reader, n int64) (int, error) {
	p := make([]byte, min(n, maxExifRead))
	if _, err := io.ReadFull(r, p); err != nil {
		return 1, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return exifOrientation(bytes.TrimPrefix(p, []byte("Exif\x00\x00"))), nil
}

// exifOrientation reads tag 0x0112 of IFD0 of a TIFF structure; 1 when it
// is missing or malformed.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 1
	}
	var order binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 1
	}
	if order.Uint16(tiff[2:]) != 42 {
		return 1
	}
	ifd := int64(order.Uint32(tiff[4:]))
	if ifd < 8 || ifd+2 > int64(len(tiff)) {
		return 1
	}
	count := int64(order.Uint16(tiff[ifd:]))
	for i := range count {
		e := ifd + 2 + 12*i
		if e+12 > int64(len(tiff)) {
			return 1
		}
		tag, typ := order.Uint16(tiff[e:]), order.Uint16(tiff[e+2:])
		if tag == 0x0112 && typ == 3 { // SHORT
			if o := int(order.Uint16(tiff[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 1
		}
	}
	return 1
}
