#include "tinydeploy/link/frame.h"

#include <cstring>

namespace tinydeploy::link {

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc) {
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

size_t encode_frame(MessageType type, uint8_t sequence, const uint8_t* payload, size_t size,
                    uint8_t* out, size_t capacity) {
  const size_t total = kHeaderBytes + size + kChecksumBytes;
  if (size > kMaxPayload || capacity < total) return 0;
  out[0] = kSync0;
  out[1] = kSync1;
  out[2] = static_cast<uint8_t>(type);
  out[3] = sequence;
  out[4] = static_cast<uint8_t>(size & 0xFFu);
  out[5] = static_cast<uint8_t>(size >> 8);
  if (size > 0) std::memcpy(out + kHeaderBytes, payload, size);
  const uint32_t crc = crc32(out + 2, kHeaderBytes - 2 + size);
  for (size_t i = 0; i < kChecksumBytes; ++i) {
    out[kHeaderBytes + size + i] = static_cast<uint8_t>(crc >> (8 * i));
  }
  return total;
}

FrameDecoder::Event FrameDecoder::consume() {
  if (!frame_ready_) return Event::None;
  // Bytes buffered after the frame (possible after a resync) stay, and may hold the next one.
  const size_t consumed = kHeaderBytes + payload_size_ + kChecksumBytes;
  std::memmove(buffer_, buffer_ + consumed, length_ - consumed);
  length_ -= consumed;
  frame_ready_ = false;
  return scan();
}

FrameDecoder::Event FrameDecoder::push(uint8_t byte) {
  // A caller that did not consume() the last frame skips it; a frame buffered behind it is
  // found again by the scan below.
  if (frame_ready_) consume();
  if (length_ == sizeof(buffer_)) drop(1);  // unreachable: a full buffer is always decided
  buffer_[length_++] = byte;
  return scan();
}

FrameDecoder::Event FrameDecoder::abandon_partial() {
  if (frame_ready_ || length_ == 0) return Event::None;
  ++bad_frames_;
  drop(1);
  const Event event = scan();
  return event == Event::Frame ? event : Event::Discarded;
}

void FrameDecoder::drop(size_t count) {
  std::memmove(buffer_, buffer_ + count, length_ - count);
  length_ -= count;
  discarded_ += static_cast<uint32_t>(count);
}

FrameDecoder::Event FrameDecoder::scan() {
  bool dropped = false;
  for (;;) {
    if (length_ == 0) break;
    if (buffer_[0] != kSync0) {
      size_t skip = 1;
      while (skip < length_ && buffer_[skip] != kSync0) ++skip;
      drop(skip);
      dropped = true;
      continue;
    }
    if (length_ < 2) break;
    if (buffer_[1] != kSync1) {
      drop(1);
      dropped = true;
      continue;
    }
    if (length_ < kHeaderBytes) break;
    const size_t size = static_cast<size_t>(buffer_[4]) | (static_cast<size_t>(buffer_[5]) << 8);
    if (size > kMaxPayload) {
      ++bad_frames_;
      drop(1);
      dropped = true;
      continue;
    }
    const size_t total = kHeaderBytes + size + kChecksumBytes;
    if (length_ < total) break;
    uint32_t stored = 0;
    for (size_t i = 0; i < kChecksumBytes; ++i) {
      stored |= static_cast<uint32_t>(buffer_[kHeaderBytes + size + i]) << (8 * i);
    }
    if (crc32(buffer_ + 2, kHeaderBytes - 2 + size) != stored) {
      ++bad_frames_;
      drop(1);
      dropped = true;
      continue;
    }
    payload_size_ = size;
    frame_ready_ = true;
    return Event::Frame;
  }
  return dropped ? Event::Discarded : Event::None;
}

bool PayloadWriter::reserve(size_t size) {
  if (!ok_ || capacity_ - size_ < size) {
    ok_ = false;
    return false;
  }
  return true;
}

PayloadWriter& PayloadWriter::u8(uint8_t value) { return bytes(&value, 1); }

PayloadWriter& PayloadWriter::u16(uint16_t value) {
  const uint8_t le[2] = {static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8)};
  return bytes(le, sizeof(le));
}

PayloadWriter& PayloadWriter::u32(uint32_t value) {
  uint8_t le[4];
  for (size_t i = 0; i < sizeof(le); ++i) le[i] = static_cast<uint8_t>(value >> (8 * i));
  return bytes(le, sizeof(le));
}

PayloadWriter& PayloadWriter::u64(uint64_t value) {
  uint8_t le[8];
  for (size_t i = 0; i < sizeof(le); ++i) le[i] = static_cast<uint8_t>(value >> (8 * i));
  return bytes(le, sizeof(le));
}

PayloadWriter& PayloadWriter::bytes(const void* data, size_t size) {
  if (!reserve(size)) return *this;
  if (size > 0) std::memcpy(data_ + size_, data, size);
  size_ += size;
  return *this;
}

uint64_t PayloadReader::read(size_t bytes) {
  if (!ok_ || size_ - offset_ < bytes) {
    ok_ = false;
    return 0;
  }
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(data_[offset_ + i]) << (8 * i);
  offset_ += bytes;
  return value;
}

uint8_t PayloadReader::u8() { return static_cast<uint8_t>(read(1)); }
uint16_t PayloadReader::u16() { return static_cast<uint16_t>(read(2)); }
uint32_t PayloadReader::u32() { return static_cast<uint32_t>(read(4)); }
uint64_t PayloadReader::u64() { return read(8); }

const uint8_t* PayloadReader::rest(size_t* size) {
  *size = size_ - offset_;
  const uint8_t* at = data_ + offset_;
  offset_ = size_;
  return at;
}

}  // namespace tinydeploy::link
