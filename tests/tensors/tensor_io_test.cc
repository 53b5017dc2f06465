#include "tinydeploy/tensors/tensor_io.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tinydeploy/common/error.h"

namespace tinydeploy::tensors {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class TensorFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tinydeploy-tensor-io-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& bytes) const {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  // A version 1 .npy file: magic, version, header length, header as given, then `data`.
  fs::path npy(const std::string& header, const std::string& data,
               const std::string& name = "t.npy") const {
    std::string bytes = "\x93NUMPY\x01";
    bytes += '\0';
    bytes += static_cast<char>(header.size() & 0xff);
    bytes += static_cast<char>(header.size() >> 8);
    return write(name, bytes + header + data);
  }

  // The message read_tensor_file throws for `path` as data of `tensor`, or "read".
  static std::string refusal(const fs::path& path, const model::Tensor& tensor) {
    try {
      read_tensor_file(path, tensor);
    } catch (const Error& error) {
      return error.what();
    }
    return "read";
  }

  static model::Tensor int8_tensor(std::vector<int32_t> shape) {
    model::Tensor t;
    t.name = "input_1";
    t.dtype = model::DType::Int8;
    t.shape = std::move(shape);
    return t;
  }

  fs::path dir_;
};

TEST_F(TensorFiles, ReadsWhatNumpyWrites) {
  const auto path = npy("{'descr': '|i1', 'fortran_order': False, 'shape': (2, 3), }          \n",
                        std::string("\x01\x02\x03\xfd\xfe\xff", 6));
  const TensorData data = read_tensor_file(path, int8_tensor({1, 6}));
  EXPECT_EQ(data.shape, (std::vector<int32_t>{1, 6}));
  ASSERT_EQ(data.elements(), 6);
  EXPECT_EQ(data.value(0), 1.0);
  EXPECT_EQ(data.value(5), -1.0);
  // Scalars, one-element tuples, double quotes and any key order are Python too.
  EXPECT_EQ(read_npy(npy("{\"shape\": (), \"fortran_order\": False, \"descr\": \"<f4\"}\n",
                         std::string(4, '\0')))
                .elements(),
            1);
  EXPECT_EQ(
      read_npy(npy("{'descr': '<i2', 'fortran_order': False, 'shape': (3,)}", std::string(6, '\0')))
          .shape,
      std::vector<int32_t>{3});
  // Fortran order is C order when at most one dimension exceeds 1.
  EXPECT_EQ(read_npy(npy("{'descr': '|u1', 'fortran_order': True, 'shape': (1, 4, 1)}", "abcd"))
                .elements(),
            4);
}

TEST_F(TensorFiles, RoundTripsThroughWriteNpy) {
  TensorData data;
  data.dtype = model::DType::Int16;
  data.shape = {2, 2};
  data.bytes = {1, 0, 2, 0, 0xff, 0xff, 0, 0x80};
  write_npy(dir_ / "w.npy", data);
  const TensorData back = read_npy(dir_ / "w.npy");
  EXPECT_EQ(back.shape, data.shape);
  EXPECT_EQ(back.bytes, data.bytes);
  EXPECT_EQ(back.value(3), -32768.0);
}

TEST_F(TensorFiles, RefusesNegativeDimensions) {
  // Read loosely, (-2, 3) was taken as (2, 3).
  const auto path = npy("{'descr': '|i1', 'fortran_order': False, 'shape': (-2, 3), }\n", "abcdef");
  EXPECT_THAT(refusal(path, int8_tensor({6})), HasSubstr("'shape' has a negative dimension"));
}

TEST_F(TensorFiles, RefusesShapesThatAreNotTuples) {
  for (const char* shape : {"[2, 3]", "6", "(6)", "'6'", "(2, x)", "(2 3)", "(2, 3"}) {
    const auto path = npy(
        std::string("{'descr': '|i1', 'fortran_order': False, 'shape': ") + shape + "}", "abcdef");
    EXPECT_THAT(refusal(path, int8_tensor({6})), HasSubstr("malformed .npy header")) << shape;
  }
  const auto list = npy("{'descr': '|i1', 'fortran_order': False, 'shape': [2, 3]}", "abcdef");
  EXPECT_THAT(refusal(list, int8_tensor({6})),
              HasSubstr("'shape' must be a tuple of non-negative integers"));
  const auto bare = npy("{'descr': '|i1', 'fortran_order': False, 'shape': (6)}", "abcdef");
  EXPECT_THAT(refusal(bare, int8_tensor({6})), HasSubstr("numpy writes (n,)"));
}

TEST_F(TensorFiles, RefusesMalformedHeaders) {
  const std::string data = "abcdef";
  const auto message = [&](const std::string& header) {
    return refusal(npy(header, data), int8_tensor({6}));
  };
  EXPECT_THAT(message("{'descr': '|i1', 'shape': (6,)}"), HasSubstr("lacks 'fortran_order'"));
  EXPECT_THAT(message("{'descr': '|i1', 'fortran_order': False, 'shape': (6,), 'extra': 1}"),
              HasSubstr("unexpected or repeated key 'extra'"));
  EXPECT_THAT(message("{'descr': '|i1', 'descr': '|i1', 'fortran_order': False, 'shape': (6,)}"),
              HasSubstr("unexpected or repeated key 'descr'"));
  EXPECT_THAT(message("{'descr': '|i1', 'fortran_order': 0, 'shape': (6,)}"),
              HasSubstr("'fortran_order' must be True or False"));
  EXPECT_THAT(message("{'descr': '|i1', 'fortran_order': False, 'shape': (6,)} junk"),
              HasSubstr("text after the closing brace"));
  EXPECT_THAT(message("{'descr': '|i1, 'fortran_order': False, 'shape': (6,)}"),
              HasSubstr("malformed .npy header"));
  EXPECT_THAT(message("'descr': '|i1'"), HasSubstr("expected '{'"));
  EXPECT_THAT(message("{'descr': '|i1', 'fortran_order': False, 'shape': (99999999999,)}"),
              HasSubstr("larger than 2^31-1"));
}

TEST_F(TensorFiles, RefusesTypesOrdersAndLayoutsItCannotRead) {
  const auto message = [&](const std::string& descr, const std::string& order,
                           const std::string& shape, const std::string& data) {
    model::Tensor t = int8_tensor({6});
    t.dtype = model::DType::Int16;
    t.shape = {3};
    return refusal(
        npy("{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + "}",
            data),
        t);
  };
  EXPECT_THAT(message(">i2", "False", "(3,)", "abcdef"), HasSubstr("big-endian data ('>i2')"));
  EXPECT_THAT(message("|i2", "False", "(3,)", "abcdef"), HasSubstr("no byte order"));
  EXPECT_THAT(message("<U2", "False", "(3,)", "abcdef"),
              HasSubstr("unsupported .npy element type '<U2'"));
  EXPECT_THAT(message("i2", "False", "(3,)", "abcdef"), HasSubstr("unsupported .npy element type"));
  EXPECT_THAT(message("<i2", "True", "(1, 3)", "abcdef"), "read");
  model::Tensor t = int8_tensor({6});
  EXPECT_THAT(refusal(npy("{'descr': '|i1', 'fortran_order': True, 'shape': (2, 3)}", "abcdef"), t),
              HasSubstr("Fortran-ordered arrays are not supported"));
}

TEST_F(TensorFiles, RefusesDataThatDisagreesWithTheHeader) {
  const std::string header = "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_THAT(refusal(npy(header, "abcdefg"), int8_tensor({6})),
              HasSubstr("7 data bytes where the header's shape (2, 3) needs 6"));
  EXPECT_THAT(refusal(npy(header, "abcde"), int8_tensor({6})),
              HasSubstr("5 data bytes where the header's shape (2, 3) needs 6"));
  // A right-sized file for another tensor: the element count is checked against the input.
  EXPECT_THAT(refusal(npy(header, "abcdef"), int8_tensor({7})),
              HasSubstr("holds 6 values but input 'input_1' has 7"));
  // A header promising far more than the input takes is refused before its data is read.
  EXPECT_THAT(refusal(npy("{'descr': '|i1', 'fortran_order': False, 'shape': (65536, 65536)}", ""),
                      int8_tensor({6})),
              HasSubstr("holds more data than the 6 bytes accepted here"));
}

TEST_F(TensorFiles, RefusesHugeHeaders) {
  // Version 2 has a 4-byte header length: 100 MB of header in a 100-byte file.
  std::string bytes = "\x93NUMPY\x02";
  bytes += '\0';
  bytes += std::string("\x00\xe1\xf5\x05", 4);
  bytes += "{'descr': '|i1', 'fortran_order': False, 'shape': (6,)}abcdef";
  EXPECT_THAT(refusal(write("big.npy", bytes), int8_tensor({6})),
              HasSubstr(".npy header of 100000000 bytes"));
  // A file far larger than the tensor needs is refused before it is read.
  const std::string header = "{'descr': '|i1', 'fortran_order': False, 'shape': (6,)}";
  EXPECT_THAT(refusal(npy(header, std::string(200000, 'x')), int8_tensor({6})),
              HasSubstr("file is too large"));
}

TEST_F(TensorFiles, ReadsOneLineOfCsv) {
  const auto path = write("in.csv", "1, -2,3,127,-128,0\r\n");
  const TensorData data = read_tensor_file(path, int8_tensor({2, 3}));
  ASSERT_EQ(data.elements(), 6);
  EXPECT_EQ(data.value(1), -2.0);
  EXPECT_EQ(data.value(4), -128.0);
  EXPECT_EQ(read_tensor_file(write("n.csv", "1,2,3,4,5,6\n\n"), int8_tensor({6})).elements(), 6);
}

TEST_F(TensorFiles, RefusesCsvOverSeveralLines) {
  // Read as one tensor before, line after line.
  EXPECT_THAT(
      refusal(write("two.csv", "1,2,3\n4,5,6\n"), int8_tensor({6})),
      HasSubstr("has more than one line; a CSV input is one line of comma-separated values"));
  EXPECT_THAT(refusal(write("cr.csv", "1,2,3\r4,5,6"), int8_tensor({6})),
              HasSubstr("has more than one line"));
  EXPECT_THAT(refusal(write("many.csv", "1,2,3,4,5,6,7"), int8_tensor({6})),
              HasSubstr("holds more than the 6 values of input 'input_1'"));
  EXPECT_THAT(refusal(write("few.csv", "1,2,3"), int8_tensor({6})),
              HasSubstr("holds 3 values but input 'input_1' has 6"));
}

TEST_F(TensorFiles, MessagesShowModelNamesEscaped) {
  model::Tensor t = int8_tensor({6});
  t.name = "in\x1b[2J\n";
  EXPECT_THAT(refusal(write("few.csv", "1,2,3"), t), HasSubstr("input 'in\\x1B[2J\\x0A' has 6"));
}

}  // namespace
}  // namespace tinydeploy::tensors
