#include "tinydeploy/link/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <string>

#include "tinydeploy/common/error.h"

namespace tinydeploy::link {
namespace {

using ::testing::HasSubstr;

const std::string kHash(64, 'a');

// An in-memory target that answers like the validator firmware, with faults injected into what
// it sends back.
class FakeTarget : public Transport {
 public:
  // Applied to each reply frame before it is sent: may change, cut or drop it.
  std::function<void(std::vector<uint8_t>&, int reply_number)> fault;
  std::string hash = kHash;
  bool silent = false;
  std::vector<uint8_t> input = std::vector<uint8_t>(3000);
  std::vector<uint8_t> output = std::vector<uint8_t>(2500);
  int invokes = 0;
  // The LayerCounters a counted invoke sends: (layer, mask), ticks 100 * (n + 1), values n + i.
  std::vector<std::pair<uint16_t, uint8_t>> counts = {{0, 0x3F}, {1, 0x3F}, {kTailLayer, 0x3F}};

  void write(std::span<const uint8_t> bytes) override {
    for (uint8_t b : bytes) {
      FrameDecoder::Event event = decoder_.push(b);
      while (event == FrameDecoder::Event::Frame) {
        answer();
        event = decoder_.consume();
      }
    }
  }
  size_t read(std::span<uint8_t> buffer, std::chrono::milliseconds) override {
    size_t n = 0;
    while (n < buffer.size() && !pending_.empty()) {
      buffer[n++] = pending_.front();
      pending_.pop_front();
    }
    return n;
  }
  std::string describe() const override { return "fake target"; }

 private:
  void reply(MessageType type, const std::vector<uint8_t>& payload) {
    std::vector<uint8_t> frame(kMaxFrameBytes);
    frame.resize(encode_frame(type, decoder_.sequence(), payload.data(), payload.size(),
                              frame.data(), frame.size()));
    if (fault) fault(frame, replies_);
    ++replies_;
    pending_.insert(pending_.end(), frame.begin(), frame.end());
  }
  void answer() {
    if (silent) return;
    PayloadReader r(decoder_.payload(), decoder_.payload_size());
    std::vector<uint8_t> payload(kMaxPayload);
    PayloadWriter w(payload.data(), payload.size());
    switch (decoder_.type()) {
      case MessageType::Hello:
        w.u16(kProtocolVersion).bytes(hash.data(), hash.size()).u16(1).u16(1).u16(2);
        w.u32(kMaxPayload).u32(1000).bytes("fake", 4);
        break;
      case MessageType::WriteInput: {
        r.u16();
        const uint32_t offset = r.u32();
        size_t size = 0;
        const uint8_t* data = r.rest(&size);
        std::copy(data, data + size, input.begin() + offset);
        payload.resize(0);
        return reply(MessageType::Ok, payload);
      }
      case MessageType::Invoke: {
        ++invokes;
        const uint8_t flags = r.u8();
        if ((flags & kInvokeCount) != 0) {
          for (size_t n = 0; n < counts.size(); ++n) {
            std::vector<uint8_t> count(kMaxPayload);
            PayloadWriter c(count.data(), count.size());
            c.u16(counts[n].first).u64(100 * (n + 1)).u8(counts[n].second);
            for (uint32_t i = 0; i < kCounterValues; ++i) c.u32(static_cast<uint32_t>(n + i));
            count.resize(c.size());
            reply(MessageType::LayerCounters, count);
          }
        }
        if ((flags & kInvokeTrace) != 0) {
          for (uint16_t layer = 0; layer < 2; ++layer) {
            std::vector<uint8_t> chunk(kMaxPayload);
            PayloadWriter c(chunk.data(), chunk.size());
            c.u16(layer).u8(0).u32(0).u32(3).u8(static_cast<uint8_t>(layer)).u8(1).u8(2);
            chunk.resize(c.size());
            reply(MessageType::LayerData, chunk);
          }
        }
        w.u32(0).u64(12345);
        break;
      }
      case MessageType::ReadOutput: {
        r.u16();
        const uint32_t offset = r.u32();
        const uint16_t length = r.u16();
        w.bytes(output.data() + offset, length);
        break;
      }
      default:
        break;
    }
    payload.resize(w.size());
    const MessageType type = decoder_.type() == MessageType::Hello        ? MessageType::HelloReply
                             : decoder_.type() == MessageType::Invoke     ? MessageType::InvokeDone
                             : decoder_.type() == MessageType::ReadOutput ? MessageType::Data
                                                                          : MessageType::Error;
    reply(type, payload);
  }

  FrameDecoder decoder_;
  std::deque<uint8_t> pending_;
  int replies_ = 0;
};

Timeouts fast() {
  Timeouts t;
  t.reply = std::chrono::milliseconds(30);
  t.invoke = std::chrono::milliseconds(30);
  t.attempts = 3;
  return t;
}

TEST(Client, RunsAWholeSession) {
  FakeTarget target;
  for (size_t i = 0; i < target.output.size(); ++i) target.output[i] = static_cast<uint8_t>(i);
  Client client(target, fast());
  const HelloInfo info = client.hello(kHash);
  EXPECT_EQ(info.board, "fake");
  EXPECT_EQ(info.tick_hz, 1000u);
  std::vector<uint8_t> input(3000);
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<uint8_t>(i * 3);
  client.write_input(0, input);
  EXPECT_EQ(target.input, input);
  const InvokeResult result = client.invoke(InvokeMode::Trace);
  EXPECT_EQ(result.ticks, 12345u);
  ASSERT_EQ(result.layers.size(), 2u);
  EXPECT_EQ(result.layers.at({1, 0}), (std::vector<uint8_t>{1, 1, 2}));
  EXPECT_EQ(client.read_output(0, 2500), target.output);
  EXPECT_EQ(client.resent(), 0u);
}

TEST(Client, ResendsWhenAReplyIsCorrupted) {
  FakeTarget target;
  target.fault = [](std::vector<uint8_t>& frame, int n) {
    if (n == 0) frame[frame.size() - 1] ^= 0xFF;
  };
  Client client(target, fast());
  EXPECT_EQ(client.hello(kHash).board, "fake");
  EXPECT_EQ(client.resent(), 1u);
  EXPECT_EQ(client.bad_frames(), 1u);
}

TEST(Client, ResendsWhenAReplyIsTruncatedOrDropped) {
  for (const bool drop : {false, true}) {
    FakeTarget target;
    target.fault = [drop](std::vector<uint8_t>& frame, int n) {
      if (n == 1) frame.resize(drop ? 0 : 9);
    };
    Client client(target, fast());
    client.hello(kHash);
    std::vector<uint8_t> out = client.read_output(0, 100);
    EXPECT_EQ(out.size(), 100u);
    EXPECT_EQ(client.resent(), 1u) << (drop ? "dropped" : "truncated");
  }
}

TEST(Client, IgnoresGarbageAndAbsurdLengthsBeforeAReply) {
  FakeTarget target;
  target.fault = [](std::vector<uint8_t>& frame, int n) {
    if (n != 0) return;
    const std::vector<uint8_t> junk = {0x00, 0xA5, 0x5A, 0x41, 0x01, 0xFF, 0xFF, 0x13, 0xA5};
    frame.insert(frame.begin(), junk.begin(), junk.end());
  };
  Client client(target, fast());
  EXPECT_EQ(client.hello(kHash).board, "fake");
  EXPECT_EQ(client.resent(), 0u);
  EXPECT_GE(client.bad_frames(), 1u);
}

TEST(Client, TimesOutWithAClearMessageWhenTheTargetNeverAnswers) {
  FakeTarget target;
  target.silent = true;
  Client client(target, fast());
  const auto start = std::chrono::steady_clock::now();
  try {
    client.hello(kHash);
    FAIL() << "expected a timeout";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("fake target did not answer hello (3 attempts, 30 ms each)"));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(Client, NamesAStaleImage) {
  FakeTarget target;
  target.hash = std::string(64, 'b');
  Client client(target, fast());
  try {
    client.hello(kHash);
    FAIL() << "expected a stale image";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("runs another model"));
    EXPECT_THAT(e.what(), HasSubstr(std::string(64, 'b')));
    EXPECT_THAT(e.what(), HasSubstr("stale"));
  }
}

TEST(Client, RefusesALayerChunkOutsideItsOutput) {
  FakeTarget target;
  target.fault = [](std::vector<uint8_t>& frame, int n) {
    if (n != 1) return;  // the first LayerData: claim offset 2 for 3 bytes of a 3-byte output
    frame[kHeaderBytes + 3] = 2;
    const uint32_t crc = crc32(frame.data() + 2, frame.size() - 2 - kChecksumBytes);
    for (size_t i = 0; i < 4; ++i)
      frame[frame.size() - 4 + i] = static_cast<uint8_t>(crc >> (8 * i));
  };
  Client client(target, fast());
  client.hello(kHash);
  EXPECT_THROW(client.invoke(InvokeMode::Trace), Error);
}

TEST(Client, CollectsTheCountersOfACountedInvoke) {
  FakeTarget target;
  Client client(target, fast());
  client.hello(kHash);
  const InvokeResult result = client.invoke(InvokeMode::Count);
  EXPECT_EQ(result.ticks, 12345u);
  ASSERT_EQ(result.counts.size(), 2u);
  ASSERT_TRUE(result.counts[1].has_value());
  EXPECT_EQ(result.counts[1]->ticks, 200u);
  EXPECT_EQ(result.counts[1]->mask, 0x3F);
  EXPECT_EQ(result.counts[1]->values[5], 6u);
  ASSERT_TRUE(result.tail.has_value());
  EXPECT_EQ(result.tail->ticks, 300u);
  EXPECT_EQ(result.tail->values[0], 2u);
  // A plain invoke ignores counters it did not ask for.
  EXPECT_FALSE(client.invoke(InvokeMode::Plain).tail.has_value());
}

TEST(Client, RefusesCountersThatLie) {
  const std::vector<std::pair<std::vector<std::pair<uint16_t, uint8_t>>, std::string>> cases = {
      {{{2, 0x01}, {kTailLayer, 0x01}}, "past the model's 2 layers"},
      {{{0, 0x01}, {0, 0x01}, {kTailLayer, 0x01}}, "twice"},
      {{{0, 0x40}, {kTailLayer, 0x01}}, "unknown counter"},
      {{{0, 0x01}, {1, 0x01}}, "without its counters"},
  };
  for (const auto& [counts, message] : cases) {
    FakeTarget target;
    target.counts = counts;
    Client client(target, fast());
    client.hello(kHash);
    try {
      client.invoke(InvokeMode::Count);
      ADD_FAILURE() << "expected a refusal: " << message;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(message));
    }
  }
}

}  // namespace
}  // namespace tinydeploy::link
