// The validator firmware: serves the PC's requests over the link (tinydeploy/link/frame.h):
// hello (protocol version, model hash, tensor counts, tick rate), writing inputs, invoking with
// optional per-layer output streaming, and reading outputs. Runs on any board with a port
// (tinydeploy/port.h), and as a host process over pipes.
//
// Malformed input never stalls it: the frame decoder resynchronises on garbage, a frame left
// unfinished for kPartialFrameMs is abandoned, and every request is bound-checked.
#include <cstring>

#include "tinydeploy/link/frame.h"
#include "tinydeploy/port.h"
#include "validator_model.h"

namespace {

using tinydeploy::link::ErrorCode;
using tinydeploy::link::FrameDecoder;
using tinydeploy::link::kMaxFrameBytes;
using tinydeploy::link::kMaxPayload;
using tinydeploy::link::MessageType;
using tinydeploy::link::PayloadReader;
using tinydeploy::link::PayloadWriter;

constexpr uint32_t kPartialFrameMs = 100;
// Room in a LayerData payload after its u16 layer, u8 output, u32 offset and u32 total.
constexpr size_t kLayerChunk = kMaxPayload - 11;

uint8_t frame_out[kMaxFrameBytes];
uint8_t payload_out[kMaxPayload];

// The last response, resent as it is when the PC repeats a request whose answer it lost (an
// invoke must not run twice: it overwrites its inputs).
uint8_t last_response[kMaxFrameBytes];
size_t last_response_size = 0;
bool have_last = false;
uint8_t last_sequence = 0;
MessageType last_type = MessageType::Hello;

size_t send(MessageType type, uint8_t sequence, const uint8_t* payload, size_t size) {
  const size_t bytes =
      tinydeploy::link::encode_frame(type, sequence, payload, size, frame_out, sizeof(frame_out));
  td_port_write(frame_out, bytes);
  return bytes;
}

void respond(MessageType type, uint8_t sequence, const uint8_t* payload, size_t size) {
  const size_t bytes = send(type, sequence, payload, size);
  std::memcpy(last_response, frame_out, bytes);
  last_response_size = bytes;
}

void respond_error(uint8_t sequence, ErrorCode code, const char* text) {
  PayloadWriter w(payload_out, sizeof(payload_out));
  w.u16(static_cast<uint16_t>(code)).bytes(text, std::strlen(text));
  respond(MessageType::Error, sequence, payload_out, w.size());
}

void hello(uint8_t sequence) {
  PayloadWriter w(payload_out, sizeof(payload_out));
  const char* hash = td_model_sha256();
  const char* board = td_port_board_name();
  w.u16(tinydeploy::link::kProtocolVersion)
      .bytes(hash, std::strlen(hash))
      .u16(static_cast<uint16_t>(td_model_input_count()))
      .u16(static_cast<uint16_t>(td_model_output_count()))
      .u16(static_cast<uint16_t>(td_model_layer_count()))
      .u32(static_cast<uint32_t>(kMaxPayload))
      .u32(td_port_tick_hz())
      .bytes(board, std::strlen(board));
  respond(MessageType::HelloReply, sequence, payload_out, w.size());
}

void write_input(uint8_t sequence, PayloadReader& r) {
  const uint16_t index = r.u16();
  const uint32_t offset = r.u32();
  size_t size = 0;
  const uint8_t* data = r.rest(&size);
  if (!r.ok()) return respond_error(sequence, ErrorCode::BadRequest, "short WriteInput");
  size_t bytes = 0;
  uint8_t* input = static_cast<uint8_t*>(td_model_input(index, &bytes));
  if (input == nullptr || offset > bytes || size > bytes - offset) {
    return respond_error(sequence, ErrorCode::OutOfRange, "input index or range");
  }
  std::memcpy(input + offset, data, size);
  respond(MessageType::Ok, sequence, nullptr, 0);
}

struct TraceContext {
  uint8_t sequence;
};

void stream_layer(void* context, uint32_t layer, uint32_t output, const void* data, size_t bytes) {
  const auto* trace = static_cast<const TraceContext*>(context);
  const auto* at = static_cast<const uint8_t*>(data);
  size_t offset = 0;
  do {
    const size_t chunk = bytes - offset < kLayerChunk ? bytes - offset : kLayerChunk;
    PayloadWriter w(payload_out, sizeof(payload_out));
    w.u16(static_cast<uint16_t>(layer))
        .u8(static_cast<uint8_t>(output))
        .u32(static_cast<uint32_t>(offset))
        .u32(static_cast<uint32_t>(bytes))
        .bytes(at + offset, chunk);
    send(MessageType::LayerData, trace->sequence, payload_out, w.size());
    offset += chunk;
  } while (offset < bytes);
}

// A profiled invoke's hook: one store whose address names the layer (validator_model.h).
void mark_layer(void* context, uint32_t layer, uint32_t output, const void* data, size_t bytes) {
  (void)context;
  (void)output;
  (void)data;
  (void)bytes;
  if (layer < td_model_layer_count()) td_model_profile_marks[2 + layer] = 1;
}

// A counted invoke's state: the tick counter and the port's counters where the current layer
// began.
struct CountContext {
  uint8_t sequence;
  uint64_t ticks;
  uint32_t mask;
  uint32_t values[TD_COUNTER_COUNT];
};

void count_start(CountContext* count) {
  count->mask = td_port_counters(count->values);
  count->ticks = td_port_ticks();
}

// Sends what `layer` took since count_start; the caller starts the next count after the send.
void count_send(const CountContext* count, uint32_t layer) {
  const uint64_t now_ticks = td_port_ticks();
  uint32_t now[TD_COUNTER_COUNT] = {};
  const uint32_t mask = td_port_counters(now) & count->mask;
  PayloadWriter w(payload_out, sizeof(payload_out));
  w.u16(static_cast<uint16_t>(layer)).u64(now_ticks - count->ticks).u8(static_cast<uint8_t>(mask));
  for (uint32_t i = 0; i < TD_COUNTER_COUNT; ++i) {
    uint32_t delta = 0;
    if (mask & (1u << i)) {
      delta = now[i] - count->values[i];
      if (i != TD_COUNTER_CYCLES) delta &= 0xFFu;
    }
    w.u32(delta);
  }
  send(MessageType::LayerCounters, count->sequence, payload_out, w.size());
}

// A counted invoke's hook: measures the layer once its first output is written. The hook's calls
// for further outputs only restart the count, so the link's time is never a layer's.
void count_layer(void* context, uint32_t layer, uint32_t output, const void* data, size_t bytes) {
  (void)data;
  (void)bytes;
  auto* count = static_cast<CountContext*>(context);
  if (output == 0) count_send(count, layer);
  count_start(count);
}

void invoke(uint8_t sequence, PayloadReader& r) {
  const uint8_t flags = r.u8();
  if (!r.ok()) return respond_error(sequence, ErrorCode::BadRequest, "short Invoke");
  TraceContext trace{sequence};
  CountContext count{};
  count.sequence = sequence;
  const bool traced = (flags & tinydeploy::link::kInvokeTrace) != 0;
  const bool counted = (flags & tinydeploy::link::kInvokeCount) != 0 && !traced;
  const bool profiled = (flags & tinydeploy::link::kInvokeProfile) != 0 && !traced && !counted;
  const td_model_layer_hook hook = traced     ? stream_layer
                                   : counted  ? count_layer
                                   : profiled ? mark_layer
                                              : nullptr;
  void* context = counted ? static_cast<void*>(&count) : static_cast<void*>(&trace);
  td_port_marker(1);
  const uint64_t start = td_port_ticks();
  // The marks sit next to the tick reads, so that the plugin's count and the ticks cover the
  // same instructions but for the reads themselves.
  if (profiled) td_model_profile_marks[0] = 1;
  if (counted) count_start(&count);
  const int status = td_model_invoke(hook, context);
  if (counted && status == 0) count_send(&count, tinydeploy::link::kTailLayer);
  if (profiled) td_model_profile_marks[1] = 1;
  const uint64_t ticks = td_port_ticks() - start;
  td_port_marker(0);
  if (status != 0) return respond_error(sequence, ErrorCode::InvokeFailed, "invoke failed");
  PayloadWriter w(payload_out, sizeof(payload_out));
  w.u32(static_cast<uint32_t>(status)).u64(ticks);
  respond(MessageType::InvokeDone, sequence, payload_out, w.size());
}

void read_output(uint8_t sequence, PayloadReader& r) {
  const uint16_t index = r.u16();
  const uint32_t offset = r.u32();
  const uint16_t length = r.u16();
  if (!r.ok() || r.remaining() != 0) {
    return respond_error(sequence, ErrorCode::BadRequest, "malformed ReadOutput");
  }
  size_t bytes = 0;
  const auto* output = static_cast<const uint8_t*>(td_model_output(index, &bytes));
  if (output == nullptr || offset > bytes || length > bytes - offset || length > kMaxPayload) {
    return respond_error(sequence, ErrorCode::OutOfRange, "output index or range");
  }
  respond(MessageType::Data, sequence, output + offset, length);
}

void handle(const FrameDecoder& frame) {
  const uint8_t sequence = frame.sequence();
  const MessageType type = frame.type();
  if (have_last && sequence == last_sequence && type == last_type) {
    td_port_write(last_response, last_response_size);  // a repeat: answer it again
    return;
  }
  have_last = true;
  last_sequence = sequence;
  last_type = type;
  PayloadReader r(frame.payload(), frame.payload_size());
  switch (type) {
    case MessageType::Hello:
      // A new session: forget the previous one so its sequence numbers can start again.
      have_last = false;
      return hello(sequence);
    case MessageType::WriteInput:
      return write_input(sequence, r);
    case MessageType::Invoke:
      return invoke(sequence, r);
    case MessageType::ReadOutput:
      return read_output(sequence, r);
    default:
      return respond_error(sequence, ErrorCode::UnknownMessage, "unknown message type");
  }
}

}  // namespace

// A port written before td_port_counters existed links as one without counters.
extern "C" __attribute__((weak)) uint32_t td_port_counters(uint32_t values[TD_COUNTER_COUNT]) {
  (void)values;
  return 0;
}

int main() {
  td_port_init();
  if (td_model_init() != 0) return 2;
  FrameDecoder decoder;
  const uint64_t partial_timeout = uint64_t{td_port_tick_hz()} * kPartialFrameMs / 1000;
  uint64_t last_byte = td_port_ticks();
  for (;;) {
    uint8_t byte = 0;
    FrameDecoder::Event event = FrameDecoder::Event::None;
    if (td_port_read(&byte) != 0) {
      last_byte = td_port_ticks();
      event = decoder.push(byte);
    } else if (decoder.has_partial() && td_port_ticks() - last_byte > partial_timeout) {
      event = decoder.abandon_partial();
      last_byte = td_port_ticks();
    }
    while (event == FrameDecoder::Event::Frame) {
      handle(decoder);
      event = decoder.consume();
    }
  }
}
