#include "tinydeploy/link/frame.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace tinydeploy::link {
namespace {

std::vector<uint8_t> make_frame(MessageType type, uint8_t sequence,
                                const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out(kMaxFrameBytes);
  const size_t size =
      encode_frame(type, sequence, payload.data(), payload.size(), out.data(), out.size());
  out.resize(size);
  return out;
}

struct Received {
  MessageType type;
  uint8_t sequence;
  std::vector<uint8_t> payload;
};

std::vector<Received> feed(FrameDecoder& decoder, const std::vector<uint8_t>& bytes) {
  std::vector<Received> frames;
  for (uint8_t byte : bytes) {
    FrameDecoder::Event event = decoder.push(byte);
    while (event == FrameDecoder::Event::Frame) {
      frames.push_back({decoder.type(),
                        decoder.sequence(),
                        {decoder.payload(), decoder.payload() + decoder.payload_size()}});
      event = decoder.consume();
    }
  }
  return frames;
}

TEST(Crc32, MatchesTheStandardCheckValue) {
  const char* text = "123456789";
  EXPECT_EQ(crc32(reinterpret_cast<const uint8_t*>(text), 9), 0xCBF43926u);
}

TEST(Frame, EncodesTheDocumentedLayout) {
  const std::vector<uint8_t> frame = make_frame(MessageType::Invoke, 7, {0x01});
  ASSERT_EQ(frame.size(), kHeaderBytes + 1 + kChecksumBytes);
  EXPECT_EQ(frame[0], 0xA5);
  EXPECT_EQ(frame[1], 0x5A);
  EXPECT_EQ(frame[2], 0x03);
  EXPECT_EQ(frame[3], 7);
  EXPECT_EQ(frame[4], 1);
  EXPECT_EQ(frame[5], 0);
  EXPECT_EQ(frame[6], 1);
  const uint32_t crc = crc32(frame.data() + 2, 5);
  EXPECT_EQ(frame[7], crc & 0xFF);
  EXPECT_EQ(frame[10], crc >> 24);
}

TEST(Frame, RefusesOversizedPayloadsAndSmallBuffers) {
  std::vector<uint8_t> payload(kMaxPayload + 1);
  std::vector<uint8_t> out(kMaxFrameBytes + 16);
  EXPECT_EQ(
      encode_frame(MessageType::Data, 0, payload.data(), payload.size(), out.data(), out.size()),
      0u);
  EXPECT_EQ(encode_frame(MessageType::Data, 0, payload.data(), 10, out.data(), 19), 0u);
  EXPECT_EQ(encode_frame(MessageType::Data, 0, payload.data(), 10, out.data(), 20), 20u);
}

TEST(FrameDecoder, DecodesBackToBackFramesOfEverySize) {
  FrameDecoder decoder;
  std::vector<uint8_t> stream;
  for (size_t size : {size_t{0}, size_t{1}, size_t{300}, kMaxPayload}) {
    std::vector<uint8_t> payload(size);
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<uint8_t>(i * 7 + size);
    const auto frame = make_frame(MessageType::Data, static_cast<uint8_t>(size), payload);
    stream.insert(stream.end(), frame.begin(), frame.end());
  }
  const auto frames = feed(decoder, stream);
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[3].payload.size(), kMaxPayload);
  EXPECT_EQ(frames[3].payload[5], static_cast<uint8_t>(5 * 7 + kMaxPayload));
  EXPECT_EQ(decoder.discarded_bytes(), 0u);
}

TEST(FrameDecoder, SkipsGarbageIncludingFalseSyncBytes) {
  FrameDecoder decoder;
  // Garbage, then a false start whose header (A5 5A 01 | A5 5A 01 of the real frame) claims a
  // 0x015A-byte payload: the real frame is swallowed until the partial frame is abandoned.
  std::vector<uint8_t> stream = {0x00, 0xA5, 0x00, 0xA5, 0xA5, 0x5A, 0x01};
  const auto good = make_frame(MessageType::Hello, 9, {});
  stream.insert(stream.end(), good.begin(), good.end());
  EXPECT_TRUE(feed(decoder, stream).empty());
  EXPECT_EQ(decoder.discarded_bytes(), 4u);
  ASSERT_TRUE(decoder.has_partial());
  ASSERT_EQ(decoder.abandon_partial(), FrameDecoder::Event::Frame);
  EXPECT_EQ(decoder.type(), MessageType::Hello);
  EXPECT_EQ(decoder.sequence(), 9);
}

TEST(FrameDecoder, DropsACorruptedFrameAndKeepsTheNextOne) {
  FrameDecoder decoder;
  auto bad = make_frame(MessageType::WriteInput, 1, {1, 2, 3, 4});
  bad[8] ^= 0x40;
  const auto good = make_frame(MessageType::WriteInput, 2, {5, 6});
  std::vector<uint8_t> stream = bad;
  stream.insert(stream.end(), good.begin(), good.end());
  const auto frames = feed(decoder, stream);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].sequence, 2);
  EXPECT_EQ(frames[0].payload, (std::vector<uint8_t>{5, 6}));
  EXPECT_EQ(decoder.bad_frames(), 1u);
}

TEST(FrameDecoder, RefusesAnAbsurdLengthWithoutWaitingForIt) {
  FrameDecoder decoder;
  std::vector<uint8_t> stream = {0xA5, 0x5A, 0x02, 0x01, 0xFF, 0xFF};  // 65535 bytes claimed
  const auto good = make_frame(MessageType::Hello, 3, {});
  stream.insert(stream.end(), good.begin(), good.end());
  const auto frames = feed(decoder, stream);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].sequence, 3);
  EXPECT_GE(decoder.bad_frames(), 1u);
}

TEST(FrameDecoder, RecoversAFrameSwallowedByATruncatedOne) {
  // A frame cut short after its header claims 200 bytes; the retry that follows is read as its
  // payload until the sender goes quiet and the partial frame is abandoned.
  FrameDecoder decoder;
  auto truncated = make_frame(MessageType::WriteInput, 1, std::vector<uint8_t>(200, 0x11));
  truncated.resize(20);
  const auto retry = make_frame(MessageType::WriteInput, 1, {9});
  std::vector<uint8_t> stream = truncated;
  stream.insert(stream.end(), retry.begin(), retry.end());
  EXPECT_TRUE(feed(decoder, stream).empty());
  ASSERT_TRUE(decoder.has_partial());
  FrameDecoder::Event event = decoder.abandon_partial();
  ASSERT_EQ(event, FrameDecoder::Event::Frame);
  EXPECT_EQ(decoder.payload_size(), 1u);
  EXPECT_EQ(decoder.payload()[0], 9);
}

TEST(FrameDecoder, SurvivesRandomNoiseAndStillDecodesAfterIt) {
  std::mt19937 random(42);
  for (int round = 0; round < 200; ++round) {
    FrameDecoder decoder;
    std::vector<uint8_t> noise(random() % 3000);
    for (auto& b : noise) b = static_cast<uint8_t>(random() % 4 == 0 ? 0xA5 : random());
    feed(decoder, noise);
    while (decoder.has_partial()) decoder.abandon_partial();
    const auto good = make_frame(MessageType::ReadOutput, 77, {1, 2, 3});
    const auto frames = feed(decoder, good);
    ASSERT_EQ(frames.size(), 1u) << "round " << round;
    EXPECT_EQ(frames[0].sequence, 77);
  }
}

TEST(Payload, WriterStopsAtCapacityAndReaderAtTheEnd) {
  uint8_t buffer[7];
  PayloadWriter w(buffer, sizeof(buffer));
  w.u16(0x1234).u32(0xA1B2C3D4);
  EXPECT_TRUE(w.ok());
  w.u16(1);
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(w.size(), 6u);
  PayloadReader r(buffer, 6);
  EXPECT_EQ(r.u16(), 0x1234);
  EXPECT_EQ(r.u32(), 0xA1B2C3D4u);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.u8(), 0);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace tinydeploy::link
