//! A minimal PNG writer for 8-bit RGB images (plotters' bitmap backend draws
//! into a buffer; its own PNG encoder pulls in `image`, see Cargo.toml).

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::{Compression, Crc};

/// PNG bytes of a `width × height` RGB8 image stored row by row.
///
/// # Errors
/// I/O errors of the compressor; a buffer of the wrong size.
pub(crate) fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> std::io::Result<Vec<u8>> {
    let row = width as usize * 3;
    if rgb.len() != row * height as usize {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{} bytes for a {width}×{height} RGB image", rgb.len())));
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter choice, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    for line in rgb.chunks(row) {
        z.write_all(&[0])?; // filter type 0 (none) for every scanline
        z.write_all(line)?;
    }
    chunk(&mut out, b"IDAT", &z.finish()?);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    #[allow(clippy::cast_possible_truncation)]
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 red pixel: signature, IHDR and IEND chunks with the CRCs that
    /// Python's `zlib.crc32` gives (`zlib.crc32(b"IHDR" + struct.pack(">IIBBBBB",
    /// 1, 1, 8, 2, 0, 0, 0))` = 0x907753de, `zlib.crc32(b"IEND")` = 0xae426082),
    /// and the pixel back out of the zlib stream.
    #[test]
    fn one_pixel_png_has_valid_chunks() {
        let png = encode_rgb(1, 1, &[255, 0, 0]).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[8..16], b"\x00\x00\x00\x0dIHDR");
        // CRC-32 of "IHDR" + 1×1, 8-bit RGB: 0x907753DE (as in every 1×1 RGB PNG).
        assert_eq!(&png[29..33], &[0x90, 0x77, 0x53, 0xde]);
        assert_eq!(&png[png.len() - 12..], b"\x00\x00\x00\x00IEND\xae\x42\x60\x82");
        let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&png[41..41 + idat_len]), &mut raw).unwrap();
        assert_eq!(raw, vec![0, 255, 0, 0]);
        assert!(encode_rgb(2, 1, &[0; 3]).is_err());
    }
}
