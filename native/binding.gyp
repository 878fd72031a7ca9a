{
  "targets": [
    {
      "target_name": "fcast_native",
      "sources": ["src/addon.cc", "src/xor.cc", "src/fec_program.cc", "src/fec_dense.cc", "src/fec_matrix.cc", "src/fec_code.cc", "src/fec_ml.cc", "src/fec_decoder.cc", "src/fec_codec_addon.cc", "src/sendmmsg.cc", "src/recvmmsg.cc", "src/flow_aead.cc", "src/sendbatch.cc", "src/sha256_job.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"] }
    }
  ]
}
