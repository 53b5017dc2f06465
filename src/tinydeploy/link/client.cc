#include "tinydeploy/link/client.h"

#include <fmt/format.h>

#include <algorithm>

#include "tinydeploy/common/error.h"

namespace tinydeploy::link {
namespace {

using Clock = std::chrono::steady_clock;

// Bytes of a WriteInput payload before its data: u16 index, u32 offset.
constexpr size_t kWriteHeader = 6;
// No layer output the host accepts is larger (the arena of any real microcontroller is smaller).
constexpr uint32_t kMaxLayerBytes = 256u << 20;

std::string type_name(MessageType type) {
  switch (type) {
    case MessageType::Hello:
      return "hello";
    case MessageType::WriteInput:
      return "write-input";
    case MessageType::Invoke:
      return "invoke";
    case MessageType::ReadOutput:
      return "read-output";
    default:
      return fmt::format("message 0x{:02x}", static_cast<unsigned>(type));
  }
}

}  // namespace

void Client::send(MessageType type, uint8_t sequence, std::span<const uint8_t> payload) {
  uint8_t frame[kMaxFrameBytes];
  const size_t size =
      encode_frame(type, sequence, payload.data(), payload.size(), frame, sizeof(frame));
  if (size == 0) throw Error("internal: a {} payload of {} bytes", type_name(type), payload.size());
  transport_.write({frame, size});
}

bool Client::next_frame(Clock::time_point deadline, MessageType& type, uint8_t& sequence,
                        std::vector<uint8_t>& payload) {
  auto take = [&] {
    type = decoder_.type();
    sequence = decoder_.sequence();
    payload.assign(decoder_.payload(), decoder_.payload() + decoder_.payload_size());
    pending_frame_ = decoder_.consume() == FrameDecoder::Event::Frame;
    return true;
  };
  if (pending_frame_) return take();
  for (;;) {
    while (unread_offset_ < unread_.size()) {
      if (decoder_.push(unread_[unread_offset_++]) == FrameDecoder::Event::Frame) return take();
    }
    const auto now = Clock::now();
    if (now >= deadline) return false;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    unread_.resize(4096);
    const size_t got = transport_.read(unread_, std::max(wait, std::chrono::milliseconds(1)));
    unread_.resize(got);
    unread_offset_ = 0;
    if (got == 0 && decoder_.has_partial() && Clock::now() >= deadline) {
      // The target went quiet mid-frame: whatever it was, it is not coming.
      if (decoder_.abandon_partial() == FrameDecoder::Event::Frame) return take();
    }
  }
}

void Client::fail_with(const Reply& reply, std::string_view what) const {
  if (reply.type == MessageType::Error && reply.payload.size() >= 2) {
    const unsigned code = reply.payload[0] | (unsigned{reply.payload[1]} << 8);
    const std::string text(reply.payload.begin() + 2, reply.payload.end());
    throw Error("{} refused {}: {} (error {})", transport_.describe(), what, text, code);
  }
  throw Error("{} answered {} with an unexpected {} ({} bytes)", transport_.describe(), what,
              type_name(reply.type), reply.payload.size());
}

Client::Reply Client::request(MessageType type, std::span<const uint8_t> payload,
                              std::string_view what) {
  const uint8_t sequence = ++sequence_;
  const auto timeout = type == MessageType::Invoke ? timeouts_.invoke : timeouts_.reply;
  for (int attempt = 0; attempt < timeouts_.attempts; ++attempt) {
    if (attempt > 0) ++resent_;
    send(type, sequence, payload);
    const auto deadline = Clock::now() + timeout;
    Reply reply;
    uint8_t got_sequence = 0;
    while (next_frame(deadline, reply.type, got_sequence, reply.payload)) {
      if (got_sequence == sequence) return reply;  // others are late answers to earlier tries
    }
  }
  throw Error("{} did not answer {} ({} attempts, {} ms each): is the right firmware running?",
              transport_.describe(), what, timeouts_.attempts, timeout.count());
}

HelloInfo Client::hello(const std::string& expected_sha256) {
  const Reply reply = request(MessageType::Hello, {}, "hello");
  if (reply.type != MessageType::HelloReply) fail_with(reply, "hello");
  PayloadReader r(reply.payload.data(), reply.payload.size());
  HelloInfo info;
  info.protocol_version = r.u16();
  if (info.protocol_version != kProtocolVersion) {
    throw Error(
        "{} speaks link protocol version {}, this tinydeploy version {}: rebuild the "
        "firmware with this tinydeploy",
        transport_.describe(), info.protocol_version, kProtocolVersion);
  }
  char hash[64];
  for (char& c : hash) c = static_cast<char>(r.u8());
  info.model_sha256.assign(hash, sizeof(hash));
  info.inputs = r.u16();
  info.outputs = r.u16();
  info.layers = r.u16();
  info.max_payload = r.u32();
  info.tick_hz = r.u32();
  size_t board_size = 0;
  const uint8_t* board = r.rest(&board_size);
  if (!r.ok() || board_size > 64) {
    throw Error("{} sent a malformed hello reply ({} bytes)", transport_.describe(),
                reply.payload.size());
  }
  info.board.assign(reinterpret_cast<const char*>(board), board_size);
  if (info.model_sha256 != expected_sha256) {
    throw Error(
        "{} runs another model (SHA-256 {}, expected {}): the image is stale; build "
        "and flash the firmware for this model",
        transport_.describe(), info.model_sha256, expected_sha256);
  }
  if (info.max_payload < 64 || info.max_payload > kMaxPayload) {
    throw Error("{} announced an unusable frame payload of {} bytes", transport_.describe(),
                info.max_payload);
  }
  max_payload_ = info.max_payload;
  layers_ = info.layers;
  return info;
}

void Client::write_input(uint16_t index, std::span<const uint8_t> bytes) {
  const size_t chunk = max_payload_ - kWriteHeader;
  std::vector<uint8_t> payload(max_payload_);
  size_t offset = 0;
  do {
    const size_t size = std::min(chunk, bytes.size() - offset);
    PayloadWriter w(payload.data(), payload.size());
    w.u16(index).u32(static_cast<uint32_t>(offset)).bytes(bytes.data() + offset, size);
    const Reply reply = request(MessageType::WriteInput, {payload.data(), w.size()},
                                fmt::format("writing input {}", index));
    if (reply.type != MessageType::Ok) fail_with(reply, fmt::format("writing input {}", index));
    offset += size;
  } while (offset < bytes.size());
}

namespace {

uint8_t invoke_flags(InvokeMode mode) {
  switch (mode) {
    case InvokeMode::Trace:
      return kInvokeTrace;
    case InvokeMode::Profile:
      return kInvokeProfile;
    case InvokeMode::Count:
      return kInvokeCount;
    case InvokeMode::Plain:
      break;
  }
  return 0;
}

}  // namespace

void Client::take_layer_count(std::span<const uint8_t> payload, InvokeResult& result) const {
  PayloadReader r(payload.data(), payload.size());
  const uint16_t layer = r.u16();
  LayerCount count;
  count.ticks = r.u64();
  count.mask = r.u8();
  for (uint32_t& value : count.values) value = r.u32();
  if (!r.ok() || r.remaining() != 0) {
    throw Error("{} sent malformed layer counters ({} bytes)", transport_.describe(),
                payload.size());
  }
  if ((count.mask >> kCounterValues) != 0) {
    throw Error("{} sent layer {} counters with an unknown counter (mask 0x{:02x})",
                transport_.describe(), layer, count.mask);
  }
  std::optional<LayerCount>* slot = nullptr;
  if (layer == kTailLayer) {
    slot = &result.tail;
  } else if (layer < result.counts.size()) {
    slot = &result.counts[layer];
  } else {
    throw Error("{} sent counters of layer {}, past the model's {} layers", transport_.describe(),
                layer, result.counts.size());
  }
  if (slot->has_value()) {
    throw Error("{} sent the counters of layer {} twice in one invoke", transport_.describe(),
                layer);
  }
  *slot = count;
}

InvokeResult Client::invoke(InvokeMode mode) {
  const uint8_t flags = invoke_flags(mode);
  const uint8_t sequence = ++sequence_;
  InvokeResult result;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> received;  // bytes per layer output
  for (int attempt = 0; attempt < timeouts_.attempts; ++attempt) {
    if (attempt > 0) ++resent_;
    send(MessageType::Invoke, sequence, {&flags, 1});
    result.counts.assign(layers_, std::nullopt);
    result.tail.reset();
    const auto deadline = Clock::now() + timeouts_.invoke;
    Reply reply;
    uint8_t got_sequence = 0;
    while (next_frame(deadline, reply.type, got_sequence, reply.payload)) {
      if (got_sequence != sequence) continue;
      if (reply.type == MessageType::LayerData) {
        PayloadReader r(reply.payload.data(), reply.payload.size());
        const uint32_t layer = r.u16();
        const uint32_t output = r.u8();
        const uint32_t offset = r.u32();
        const uint32_t total = r.u32();
        size_t size = 0;
        const uint8_t* data = r.rest(&size);
        auto& bytes = result.layers[{layer, output}];
        if (bytes.empty() && total > 0) {
          if (total > kMaxLayerBytes) {
            throw Error("{} sent layer {} output of {} bytes, more than any arena",
                        transport_.describe(), layer, total);
          }
          bytes.resize(total);
        }
        if (!r.ok() || total != bytes.size() || offset > total || size > total - offset) {
          throw Error("{} sent a malformed layer {} chunk (offset {}, {} of {} bytes)",
                      transport_.describe(), layer, offset, size, total);
        }
        std::copy(data, data + size, bytes.begin() + offset);
        received[{layer, output}] += static_cast<uint32_t>(size);
        continue;
      }
      if (reply.type == MessageType::LayerCounters && mode == InvokeMode::Count) {
        take_layer_count(reply.payload, result);
        continue;
      }
      if (reply.type != MessageType::InvokeDone) fail_with(reply, "invoke");
      PayloadReader r(reply.payload.data(), reply.payload.size());
      const uint32_t status = r.u32();
      result.ticks = r.u64();
      if (!r.ok() || status != 0) fail_with(reply, "invoke");
      for (const auto& [key, bytes] : result.layers) {
        if (received[key] < bytes.size()) {
          throw Error("{} sent {} of {} bytes of layer {} output {}: the trace is incomplete",
                      transport_.describe(), received[key], bytes.size(), key.first, key.second);
        }
      }
      if (mode == InvokeMode::Count && !result.tail) {
        throw Error(
            "{} finished a counted invoke without its counters: is the firmware older "
            "than this tool?",
            transport_.describe());
      }
      return result;
    }
  }
  throw Error("{} did not finish invoke within {} ms ({} attempts)", transport_.describe(),
              timeouts_.invoke.count(), timeouts_.attempts);
}

std::vector<uint8_t> Client::read_output(uint16_t index, size_t bytes) {
  std::vector<uint8_t> out;
  out.reserve(bytes);
  while (out.size() < bytes) {
    const size_t length = std::min<size_t>(max_payload_, bytes - out.size());
    uint8_t payload[8];
    PayloadWriter w(payload, sizeof(payload));
    w.u16(index).u32(static_cast<uint32_t>(out.size())).u16(static_cast<uint16_t>(length));
    const std::string what = fmt::format("reading output {}", index);
    const Reply reply = request(MessageType::ReadOutput, {payload, w.size()}, what);
    if (reply.type != MessageType::Data || reply.payload.size() != length) fail_with(reply, what);
    out.insert(out.end(), reply.payload.begin(), reply.payload.end());
  }
  return out;
}

}  // namespace tinydeploy::link
