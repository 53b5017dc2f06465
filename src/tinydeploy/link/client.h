// The PC side of the link: requests to a target program (the validator firmware) with
// timeouts, retries and checks on everything that comes back.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tinydeploy/link/frame.h"
#include "tinydeploy/link/transport.h"

namespace tinydeploy::link {

struct HelloInfo {
  uint16_t protocol_version = 0;
  std::string model_sha256;  // 64 hex digits
  uint16_t inputs = 0;
  uint16_t outputs = 0;
  uint16_t layers = 0;
  uint32_t max_payload = 0;
  uint32_t tick_hz = 0;
  std::string board;
};

struct Timeouts {
  std::chrono::milliseconds reply{2000};    // an ordinary request
  std::chrono::milliseconds invoke{60000};  // an inference, with its layer outputs when traced
  int attempts = 3;                         // sends of one request before giving up
};

// One layer output streamed by a traced invoke: (operator index, output number) -> bytes.
using LayerOutputs = std::map<std::pair<uint32_t, uint32_t>, std::vector<uint8_t>>;

// What a counted invoke measured for one layer (or the tail after the last one): the target's
// ticks and the port's counters, as LayerCounters carries them (frame.h).
struct LayerCount {
  uint64_t ticks = 0;
  uint8_t mask = 0;  // bit i: values[i] was read (TD_COUNTER_i of tinydeploy/port.h)
  std::array<uint32_t, kCounterValues> values{};
};

struct InvokeResult {
  uint64_t ticks = 0;  // of the invoke, in the target's ticks (HelloInfo::tick_hz)
  LayerOutputs layers;
  // A counted invoke's measurements: one per layer (index = operator), and the tail.
  std::vector<std::optional<LayerCount>> counts;
  std::optional<LayerCount> tail;
};

// What an invoke does besides the inference.
enum class InvokeMode : uint8_t {
  Plain,
  Trace,    // streams every layer's output (kInvokeTrace)
  Profile,  // marks the layers for a profiler watching the target (kInvokeProfile)
  Count,    // measures every layer with the port's ticks and counters (kInvokeCount)
};

class Client {
 public:
  Client(Transport& transport, Timeouts timeouts) : transport_(transport), timeouts_(timeouts) {}

  // Opens the session. Throws when the target does not answer, speaks another protocol version,
  // or runs another model than `expected_sha256` (a stale image).
  HelloInfo hello(const std::string& expected_sha256);
  void write_input(uint16_t index, std::span<const uint8_t> bytes);
  InvokeResult invoke(InvokeMode mode = InvokeMode::Plain);
  std::vector<uint8_t> read_output(uint16_t index, size_t bytes);

  // Counters for diagnostics: frames dropped by the checks, requests sent again.
  uint32_t bad_frames() const { return decoder_.bad_frames(); }
  uint32_t resent() const { return resent_; }

 private:
  struct Reply {
    MessageType type;
    std::vector<uint8_t> payload;
  };
  // Sends a request and waits for its reply (same sequence number), resending it on silence.
  Reply request(MessageType type, std::span<const uint8_t> payload, std::string_view what);
  // The next checked frame, or false when `timeout` passes without one.
  bool next_frame(std::chrono::steady_clock::time_point deadline, MessageType& type,
                  uint8_t& sequence, std::vector<uint8_t>& payload);
  void send(MessageType type, uint8_t sequence, std::span<const uint8_t> payload);
  [[noreturn]] void fail_with(const Reply& reply, std::string_view what) const;
  // Checks one LayerCounters payload and files it in `result`.
  void take_layer_count(std::span<const uint8_t> payload, InvokeResult& result) const;

  Transport& transport_;
  Timeouts timeouts_;
  FrameDecoder decoder_;
  bool pending_frame_ = false;   // the decoder holds another complete frame
  std::vector<uint8_t> unread_;  // received bytes not yet given to the decoder
  size_t unread_offset_ = 0;
  uint8_t sequence_ = 0;
  uint32_t resent_ = 0;
  uint32_t max_payload_ = kMaxPayload;
  uint16_t layers_ = 0;  // the model's operators, from hello
};

}  // namespace tinydeploy::link
