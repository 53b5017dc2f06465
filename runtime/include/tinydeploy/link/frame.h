// The wire format between tinydeploy on the PC and a target (validator firmware): framed,
// checksummed messages over any byte stream (pipe, serial line, emulated UART).
//
//   offset  size  field
//   0       2     sync bytes 0xA5 0x5A
//   2       1     message type (MessageType)
//   3       1     sequence number: a response carries its request's
//   4       2     payload length, little-endian, at most kMaxPayload
//   6       n     payload
//   6+n     4     CRC-32 (IEEE 802.3) of bytes 2 .. 6+n-1, little-endian
//
// The same code runs on both ends: C++17, no heap, no exceptions. A receiver that sees garbage,
// a truncated frame, a bad checksum or an absurd length drops bytes until the next frame that
// checks out: it never reads or writes past its fixed buffer.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinydeploy::link {

constexpr uint8_t kSync0 = 0xA5;
constexpr uint8_t kSync1 = 0x5A;
// Raised whenever a message's layout changes; the hello exchange refuses a mismatch.
constexpr uint16_t kProtocolVersion = 2;
constexpr size_t kMaxPayload = 1024;
constexpr size_t kHeaderBytes = 6;
constexpr size_t kChecksumBytes = 4;
constexpr size_t kMaxFrameBytes = kHeaderBytes + kMaxPayload + kChecksumBytes;

enum class MessageType : uint8_t {
  // Requests (PC -> target).
  Hello = 0x01,       // -> HelloReply
  WriteInput = 0x02,  // u16 input, u32 offset, bytes -> Ok
  Invoke = 0x03,      // u8 flags (kInvokeTrace, kInvokeProfile, kInvokeCount)
                      //   -> [LayerData... | LayerCounters...] InvokeDone
  ReadOutput = 0x04,  // u16 output, u32 offset, u16 length -> Data
  // Responses (target -> PC).
  HelloReply = 0x41,
  Ok = 0x42,
  InvokeDone = 0x43,  // u32 status, u64 ticks of the invoke
  Data = 0x44,        // bytes
  LayerData = 0x45,   // u16 layer, u8 output, u32 offset, u32 total, bytes: a chunk of its output
  // u16 layer (kTailLayer: from the last layer to the invoke's end), u64 ticks, u8 mask of the
  // port's counters read (bit i: TD_COUNTER_i of tinydeploy/port.h), then u32 values[6]: what
  // the layer took, as differences of the free-running counters (cycles modulo 2^32, the five
  // event counters modulo 2^8; zero where the mask has no bit).
  LayerCounters = 0x46,
  Error = 0x7F,  // u16 ErrorCode, then a short text
};

// Flags of an Invoke request.
constexpr uint8_t kInvokeTrace = 0x01;  // send every layer's output as it is computed
// Mark the inference and each layer's end for a profiler watching the target (QEMU's plugin):
// byte stores into td_model_profile_marks (firmware/validator/validator_model.h).
constexpr uint8_t kInvokeProfile = 0x02;
// Measure each layer with the port's tick counter and its event counters (td_port_counters) and
// send one LayerCounters per layer and one for the tail. The time spent sending is left out: the
// counters are read again after each send.
constexpr uint8_t kInvokeCount = 0x04;
constexpr uint16_t kTailLayer = 0xFFFF;
constexpr size_t kCounterValues = 6;

enum class ErrorCode : uint16_t {
  UnknownMessage = 2,  // a type this firmware does not handle
  BadRequest = 3,      // a malformed payload
  OutOfRange = 4,      // tensor index, offset or length outside the tensor
  InvokeFailed = 5,    // the model's invoke returned an error status
};

// CRC-32 as in IEEE 802.3 / zlib (reflected polynomial 0xEDB88320), continued from `crc`.
uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

// Writes one frame into `out`; returns its length, or 0 when the payload exceeds kMaxPayload or
// `capacity` is too small.
size_t encode_frame(MessageType type, uint8_t sequence, const uint8_t* payload, size_t size,
                    uint8_t* out, size_t capacity);

// Reassembles frames from a byte stream, one byte at a time.
class FrameDecoder {
 public:
  enum class Event : uint8_t {
    None,       // keep feeding
    Frame,      // a complete, checked frame: read it before the next push()
    Discarded,  // bytes were dropped (bad checksum, absurd length, garbage); still resyncing
  };

  Event push(uint8_t byte);
  // Releases the frame just read. Bytes buffered after it are scanned again: Frame means another
  // complete frame is ready at once.
  Event consume();
  // Gives up on a partial frame (the sender went quiet mid-frame) and looks for a frame start
  // in what was buffered after its first byte.
  Event abandon_partial();
  bool has_partial() const { return length_ > 0; }

  MessageType type() const { return static_cast<MessageType>(buffer_[2]); }
  uint8_t sequence() const { return buffer_[3]; }
  const uint8_t* payload() const { return buffer_ + kHeaderBytes; }
  size_t payload_size() const { return payload_size_; }
  // Bytes thrown away since construction: garbage, frames that failed their checks.
  uint32_t discarded_bytes() const { return discarded_; }
  uint32_t bad_frames() const { return bad_frames_; }

 private:
  Event scan();
  void drop(size_t count);

  uint8_t buffer_[kMaxFrameBytes] = {};
  size_t length_ = 0;
  size_t payload_size_ = 0;
  bool frame_ready_ = false;
  uint32_t discarded_ = 0;
  uint32_t bad_frames_ = 0;
};

// Little-endian payload building with a hard capacity: once anything does not fit, ok() is false
// and nothing more is written.
class PayloadWriter {
 public:
  PayloadWriter(uint8_t* data, size_t capacity) : data_(data), capacity_(capacity) {}
  PayloadWriter& u8(uint8_t value);
  PayloadWriter& u16(uint16_t value);
  PayloadWriter& u32(uint32_t value);
  PayloadWriter& u64(uint64_t value);
  PayloadWriter& bytes(const void* data, size_t size);
  bool ok() const { return ok_; }
  size_t size() const { return size_; }

 private:
  bool reserve(size_t size);
  uint8_t* data_;
  size_t capacity_;
  size_t size_ = 0;
  bool ok_ = true;
};

// Little-endian payload reading: a read past the end gives zeros and makes ok() false.
class PayloadReader {
 public:
  PayloadReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  uint64_t u64();
  // The rest of the payload.
  const uint8_t* rest(size_t* size);
  bool ok() const { return ok_; }
  size_t remaining() const { return size_ - offset_; }

 private:
  uint64_t read(size_t bytes);
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
  bool ok_ = true;
};

}  // namespace tinydeploy::link
