//! Histogram chunks written by a real Prometheus (Debian's 2.42.0, `--enable-feature=
//! native-histograms`): integer histograms were remote-written into it and the chunks it
//! m-mapped to `chunks_head/000001` copied here byte for byte. The tests decode them into the
//! histograms that were sent and re-encode those histograms into the very same bytes
//! (including Prometheus's re-coding of the chunk when a bucket appeared at sample 100).
//!
//! The series (`nh_test`, sample i at 1700000000000 + 15000·i ms): schema 1, zero threshold
//! 2^-128, positive spans {-2,3},{1,2} (a third bucket in the second span from i = 100),
//! negative span {0,1}; with j = i (i − 180 after a counter reset at i = 180): positive bucket k
//! = (k+1)·j + j/3, the new bucket j − 99, negative bucket 2·j, zero bucket j/2, sum
//! 1.25·i + 0.001·(i mod 7). Prometheus cut chunk 1 after i = 142 and chunk 2 after i = 179.
//! The same series was also sent one sample a second (`nh_now`), read by a recording rule
//! `nh_rate = rate(nh_now[20s])` evaluated every second: Prometheus stored its results, float
//! gauge histograms, in a float histogram chunk.

use super::float_histogram_chunk::{FloatHistogramChunk, FloatHistogramIter};
use super::histogram_chunk::{
    Appended, CounterResetHeader, HistogramChunk, HistogramIter, Verdict,
};
use crate::model::histogram::{CounterResetHint, Histogram, Span};

/// Chunk 1: encoding 2, t 1700000000000…1700002130000, 1480 bytes.
const PROMETHEUS_CHUNK_1: &str = concat!(
    "008f00748ca769c6317f0000c5e7f2b4000000000000000000003e0ea6322c5effe8083126e978d6318c63bb9231c25f",
    "ff00a5f667404789cb74d962173791d7a6808f1396e9b2dc225efb34d01062b2557ef00c3467033a657ef125885cdd5f",
    "563fc3126e978d5b8448c76e76020c49ba5e340297940c29b59dc4b442e6f23b34f808f1396e9b3b844bde283857ef19",
    "89d00c346580831592abf6885cdd5f5ebe43066b63336bb8448c60e0c49ba5e3540052f0d010624dd2f1e21737918d81",
    "8536b3b89570897bc1404789cb74d900c3461e0e15fbc6627c42e6eaf0501062b2557eae112319d819d32bf7892014bc",
    "34189374bc6a8885cde460e020c49ba5e3dc225ef1d030a6d677128030d185808f1396e9b310b9babc141c2bf78cc4fb",
    "8448c74edfc0697cf5c49a8052fc30a0674cafde25885cde477df60c49ba5e356e112f7dd97404189374bc601868c703",
    "0a6d67712442e6eaf3404789cb74db708918edcfb070afde33138052f0a020c564aafc885cde463c0ce995fbc4b70897",
    "bc283126e978d50030d19b010624dd2f1c42e6eaf1a0614dacee24b8448c61c04789cb74da014becd3e83857ef1989e2",
    "1737918580831592abf2e112f782819d32bf7894030d18f83126e978d522173757828083126e978ee1123185818536b3",
    "b89002979e808f1396e9b621737918383857ef1989ee112f78680831592abf0030d18d819d32bf789621737578283126",
    "e978d52e11231878083126e978c029782818536b3b8922173791d7a7e81c2bf78cc4dc225ef0341c2bf78cc48061a3c6",
    "fe020c564aaff10b9babefc3a0674cafde26e11231960c49ba5e35402978a020c49ba5e62173791dd97e0614dacee237",
    "0897bc2808f1396e9b0061a3160e15fbc662510b9babce80831592abfdc224630e0674cafde24014bc683126e978d544",
    "2e6f23b72f6020c49ba5e6e112f7e37d030a6d6771100c34785fe023c4e5ba6e2173757941c2bf78cc4dc22463bf1d80",
    "831592abf8052f340ce995fbc4a21737918e0c49ba5e35570897beec7d010624dd2f201868f0c2c0c29b59dc46217375",
    "79404789cb74dae11231df87c1c2bf78cc48052fc6fa020c564aaff10b9bc8f0bec0ce995fbc4dc225efb33fd0624dd2",
    "f1aa01868c0e020c49ba5e62173757e186818536b3b88dc22463bf0d808f1396e9b00a5e283857ef1989885cde47861e",
    "020c564aaff70897bca0674cafde2401868eec7b0624dd2f1ab10b9babc68083126e979b8448c78dfc0c29b59dc44029",
    "7df87404789cb74dc42e6f232c1c2bf78cc4dc225efc6fa020c564aafe01868edcbf819d32bf789885cdd5e0a0c49ba5",
    "e356e11231858083126e97900a5f7e3d030a6d67711885cde463808f1396e9b5c225ef341c2bf78cc48030d1dd976020",
    "c564aaff10b9babc2819d32bf7895c224631e0c49ba5e354014bc28083126e979442e563360614dacee2370917bc6808",
    "f1396e9b0061a30e0e15fbc662510b9babeadbff8697cf5c49bb8448c60160674cafde24029780283126e978d5885cde",
    "4603e020c49ba5e6e112f7802818536b3b8b00c346016023c4e5ba62217375781e83857ef1989b8448c600e020c564aa",
    "fc0297806819d32bf789885cde460360c49ba5e356e112f78028083126e97900c34601e0614dacee2e2173757802808f",
    "1396e98b8448c60f60e15fbc6624029780680831592abf885cde4600e0674cafde26e112f780e83126e978d500c34601",
    "6020c49ba5e62173757802818536b3b8bb8448c607e023c4e5ba60029780283857ef1989885cde46016020c564aafee1",
    "12f780e819d32bf78900c34600e0c49ba5e35621737578068083126e979b8448c61f60614dacee2c0297802808f1396e",
    "98885cde4601e0e15fbc6626e112f780280831592abf00c3460360674cafde26217375780683126e978d5b8448c600e0",
    "20c49ba5e4029781e818536b3b8b885cde46016023c4e5ba62e112f780283857ef198900c34603e020c564aafe217375",
    "7802819d32bf789b8448c60160c49ba5e354029783e8083126e979885cde4600e0614dacee2ee110",
);

/// Chunk 2: encoding 2, t 1700002145000…1700002685000, 404 bytes.
const PROMETHEUS_CHUNK_2: &str = concat!(
    "002540748ca769c6317f0000c5e80311747ab7788e80ccb03126e978d5cbee47f23f91fc8ff6997847be0ea63311e186",
    "c1c2bf78cc4ca318c77726eaf140418ac955fdc224633c0ce995fbc48052f14189374bc6ac42e6f23bf1ec04189374bc",
    "dc225ef1a0614dacee2c030d187011e272dd3110b9babce83857ef1989b8448c62c0418ac955f8052f0a0674cafde262",
    "173791d9a7fc189374bc6adc225ef01404189374bc8061a302c0c29b59dc5c42e6eaf07404789cb74c5c2246301c1c2b",
    "f78cc48052f0340418ac955fc42e6f230ec0ce995fbc4dc225ef014189374bc6a8061a303c04189374bcc42e6eaf0140",
    "c29b59dc5dc2246306c04789cb74c0052f0341c2bf78cc4c42e6f2301c0418ac955fdc225ef1f40ce995fbc48061a302",
    "c189374bc6ac42e6eaf01404189374bcdc2246307c0c29b59dc58052f01404789cb74c442e6f2302c1c2bf78cc4dc225",
    "ef0f40418ac955f8061a301c0ce995fbc4c42e6eaf034189374bc6adc2246306c04189374bc8052f0140c29b59dc5c42",
    "e6f2303c04789cb74c5c225ef0141c2bf78cc480",
);

/// Series `nh_now` (step 1 s from 1796473869000): the chunk cut by the counter reset at i = 180, t 1796474049000…1796474166000, 1189 bytes.
const PROMETHEUS_RESET_CHUNK: &str = concat!(
    "007680748ca769c6317f0000d1231948f44480d84051eb851eb808bc7d19271bf40ce995fbc4c6318c7792463383126e",
    "978d500a5f861d010624dd2f310b9bc8cb030a6d6771770897bc5011e272dd3001868efc7f070afde331310b9babc280",
    "831592abfb8448c62c0ce995fbc48052f3a0c49ba5e356217379187010624dd2f370897bc6818536b3b8b00c34775fec",
    "04789cb74e2173757e575070afde3313708918f1bfc0418ac955f8052f2819d32bf789885cde47861b0624dd2f1ab708",
    "97bcd010624dd2f201868c7030a6d6771710b9babefbbd011e272dd3b8448c78df60e15fbc66240297940418ac955fc4",
    "2e6f23c30f819d32bf789b844bde283126e978d500c34658083126e979885cdd5f597fe6e11231e75f011e272dd300a5",
    "f95da0e15fbc663c42e6f23c6dd80831592abdc225ef140ce995fbc4030d1e56f83126e978d621737579404189374bd7",
    "08918f0c3b030a6d6771402978d011e272dd32217379187070afde331ee112f79d01062b25570030d18b033a657ef122",
    "173757850624dd2f1aae11231df7ff010624dd2f00a5f9db40c29b59dc5885cde479596023c4e5ba770897bf1bfa0e15",
    "fbc6638061a31c0418ac955c885cdd5e6819d32bf789708918f0bfb0624dd2f1a8052f0a020c49ba5e885cde4795de06",
    "14dacee2dc225ef2808f1396e9801868f1bf60e15fbc663c42e6eaf340418ac955cb8448c63819d32bf788014beec7f4",
    "189374bc6b10b9bc8c16020c49ba5eb844bdf9db40c29b59dc500c3478dbf011e272dd3885cdd5f9db41c2bf78cc7b84",
    "48c79596020c564aae014bf0bbd033a657ef1885cde479d9c189374bc6b70897bf2b3404189374bc030d1e37ec0c29b5",
    "9dc5885cdd5e2808f1396e99708918cf070afde331c02978a020c564aae442e6f23beff60674cafde370897bf2b74189",
    "374bc6a01868ce020c49ba5e885cdd5f8dfd030a6d67716e1123196023c4e5ba60052f141c2bf78cc7885cde4785df80",
    "831592abdc225ef0a0674cafde201868f2b6c189374bc6b10b9babf1b7a020c49ba5f708918f3b7818536b3b8a014bf2",
    "b3404789cb74e2173791db9fec1c2bf78cc7b844bde0280831592ab801868c0f033a657ef12217375780a0c49ba5e355",
    "c2246306c04189374bc00a5e06818536b3b8b10b9bc8c07011e272dd32e112f787a0e15fbc6638061a302c0418ac955c",
    "885cdd5e02819d32bf789708918c1f0624dd2f1a8029780a020c49ba5e442e6f2302c0c29b59dc5b844bde3e808f1396",
    "e9801868c07070afde331e217375781a020c564aae5c2246306c0ce995fbc400a5e0283126e978d510b9bc8c0f010624",
    "dd2f2e112f780a0614dacee28061a30ec04789cb74c885cdd5e0683857ef198f708918c0701062b25570029783a0674c",
    "afde2442e6f2302c189374bc6ab844bde028083126e97801868cff030a6d67716217375780a023c4e5ba65c2246302c1",
    "c2bf78cc700a5e0e80831592ab910b9bc8c07033a657ef12e112f781a0c49ba5e350061a30ec04189374bc885cdd5e02",
    "818536b3b8b708918c0f011e272dd30029780a0e15fbc663c42e6f2306c0418ac955cb844bde06819d32bf78801868c0",
    "70624dd2f1aa21737578fa020c49ba5e5c2246302c0c29b59dc500a5e02808f1396e9910b8",
);

/// Recording rule `nh_rate = rate(nh_now[20s])` (float gauge histograms), t 1796473900029…1796474017029, 4626 bytes.
const PROMETHEUS_FLOAT_CHUNK: &str = concat!(
    "0076c0748ca769c6317f0000d1231825fea01986bca1af286b9fef286bca1af2869ff9ffc8cfd16f589ffa86bca1af28",
    "6ba001435e50d794362005435e50d79435a008a1af286bca1b200aa1af286bca1b000000000000000020000000000000",
    "0078fa39d578bc5e2f17ead3e8743a1d0e87401c6e944a25128946fa1d0e8743a1ddb8ffe826f4a0df7861d0e8743a1d",
    "0fc6de8743a1d0e8f1bfa1d0e8743a1f2b7a1d0e8743a3cade8743a1d0e88a5128944a251be8743a1d0e877fc2000000",
    "01ba1d0e8743a1ee8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd0e8743a1d11178bc5e2f1797d0e8743a1d0eedcfff41",
    "37a506fa8054ca6532994cdf43a1d0e8743aba1d0e8743a1ee8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd0e8743a1d1",
    "1532994ca65337d0e8743a1d0eae8743a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e874445e2f178b",
    "c5e5f43a1d0e8743a00a5128944a251be8743a1d0e875743a1d0e8743dd0e8743a1d1ba1d0e8743a1dd0e8743a1d1ba1",
    "d0e8743a22944a25128946fa1d0e8743a1dbff4137a506fa5d0e8743a1d0f743a1d0e8746e8743a1d0e87743a1d0e874",
    "6e8743a1d0e888bc5e2f178bcbe8743a1d0e876000000000000201532994ca65337d0e8743a1d0edffa09bd2837d6e87",
    "43a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e874454ca6532994cdf43a1d0e8743aba1d0e8743a1e",
    "e8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd0e8743a1d11178bc5e2f1797d0e8743a1d0e802944a25128946fa1d0e87",
    "43a1d5d0e8743a1d0f743a1d0e8746e8743a1d0e87743a1d0e8746e8743a1d0e88a5128944a251be8743a1d0e875743a",
    "1d0e8743dd0e8743a1d1ba1d0e8743a1dd0e8743a1d1ba1d0e8743a222f178bc5e2f2fa1d0e8743a1dbff4137a506fa0",
    "054ca6532994cdf43a1d0e8743aba1d0e8743a1ee8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd0e8743a1d11532994ca",
    "65337d0e8743a1d0edffa09bd2837d2e8743a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e874445e2f",
    "178bc5e5f43a1d0e8743a00a5128944a251be8743a1d0e8760000000000007743a1d0e8743dd0e8743a1d1ba1d0e8743",
    "a1dd0e8743a1d1ba1d0e8743a22944a25128946fa1d0e8743a1d8000000000001dd0e8743a1d0f743a1d0e8746e8743a",
    "1d0e87743a1d0e8746e8743a1d0e888bc5e2f178bcbe8743a1d0e876000000000000601532994ca65337d0e8743a1d0e",
    "dffa09bd2837c6e8743a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e874454ca6532994cdf43a1d0e8",
    "743b0000000000006ba1d0e8743a1ee8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd0e8743a1d11178bc5e2f1797d0e87",
    "43a1d0edffa09bd2837d002944a25128946fa1d0e8743a1d8000000000001dd0e8743a1d0f743a1d0e8746e8743a1d0e",
    "87743a1d0e8746e8743a1d0e88a5128944a251be8743a1d0e8760000000000007743a1d0e8743dd0e8743a1d1ba1d0e8",
    "743a1dd0e8743a1d1ba1d0e8743a222f178bc5e2f2fa1d0e8743a1d0054ca6532994cdf43a1d0e8743b0000000000003",
    "ba1d0e8743a1ee8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd0e8743a1d11532994ca65337d0e8743a1d0edffa09bd28",
    "37c6e8743a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e874445e2f178bc5e5f43a1d0e8743b000000",
    "000000600a5128944a251be8743a1d0e876ffd04de941be9743a1d0e8743dd0e8743a1d1ba1d0e8743a1dd0e8743a1d1",
    "ba1d0e8743a22944a25128946fa1d0e8743a1d8000000000001dd0e8743a1d0f743a1d0e8746e8743a1d0e87743a1d0e",
    "8746e8743a1d0e888bc5e2f178bcbe8743a1d0e876000000000000601532994ca65337d0e8743a1d0eae8743a1d0e87b",
    "a1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e874454ca6532994cdf43a1d0e8743b0000000000003ba1d0e8743",
    "a1ee8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd0e8743a1d11178bc5e2f1797d0e8743a1d0edffa09bd2837c402944a",
    "25128946fa1d0e8743a1d80000000000035d0e8743a1d0f743a1d0e8746e8743a1d0e87743a1d0e8746e8743a1d0e88a",
    "5128944a251be8743a1d0e876ffd04de941be9743a1d0e8743dd0e8743a1d1ba1d0e8743a1dd0e8743a1d1ba1d0e8743",
    "a222f178bc5e2f2fa1d0e8743a1d80000000000018054ca6532994cdf43a1d0e8743b000000000001dba1d0e8743a1ee",
    "8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd0e8743a1d11532994ca65337d0e8743a1d0ec0000000000076e8743a1d0e",
    "87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e874445e2f178bc5e5f43a1d0e8743a00a5128944a251be8743",
    "a1d0e876ffd04de941be3743a1d0e8743dd0e8743a1d1ba1d0e8743a1dd0e8743a1d1ba1d0e8743a22944a25128946fa",
    "1d0e8743a1d5d0e8743a1d0f743a1d0e8746e8743a1d0e87743a1d0e8746e8743a1d0e888bc5e2f178bcbe8743a1d0e8",
    "76ffd04de941be201532994ca65337d0e8743a1d0eae8743a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1",
    "d0e874454ca6532994cdf43a1d0e8743b000000000001dba1d0e8743a1ee8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd",
    "0e8743a1d11178bc5e2f1797d0e8743a1d0ec000000000007402944a25128946fa1d0e8743a1d5d0e8743a1d0f743a1d",
    "0e8746e8743a1d0e87743a1d0e8746e8743a1d0e88a5128944a251be8743a1d0e876ffd04de941be3743a1d0e8743dd0",
    "e8743a1d1ba1d0e8743a1dd0e8743a1d1ba1d0e8743a222f178bc5e2f2fa1d0e8743a1d0054ca6532994cdf43a1d0e87",
    "43b7fe826f4a0df1ba1d0e8743a1ee8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd0e8743a1d11532994ca65337d0e874",
    "3a1d0eae8743a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e874445e2f178bc5e5f43a1d0e8743b000",
    "000000001d00a5128944a251be8743a1d0e876000000000003b743a1d0e8743dd0e8743a1d1ba1d0e8743a1dd0e8743a",
    "1d1ba1d0e8743a22944a25128946fa1d0e8743a1d5d0e8743a1d0f743a1d0e8746e8743a1d0e87743a1d0e8746e8743a",
    "1d0e888bc5e2f178bcbe8743a1d0e876ffd04de941be201532994ca65337d0e8743a1d0eae8743a1d0e87ba1d0e8743a",
    "3743a1d0e8743ba1d0e8743a3743a1d0e874454ca6532994cdf43a1d0e8743b7fe826f4a0df1ba1d0e8743a1ee8743a1",
    "d0e8dd0e8743a1d0ee8743a1d0e8dd0e8743a1d11178bc5e2f1797d0e8743a1d0e802944a25128946fa1d0e8743a1d80",
    "0000000000edd0e8743a1d0f743a1d0e8746e8743a1d0e87743a1d0e8746e8743a1d0e88a5128944a251be8743a1d0e8",
    "76000000000003b743a1d0e8743dd0e8743a1d1ba1d0e8743a1dd0e8743a1d1ba1d0e8743a222f178bc5e2f2fa1d0e87",
    "43a1d0054ca6532994cdf43a1d0e8743b7fe826f4a0df1ba1d0e8743a1ee8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd",
    "0e8743a1d11532994ca65337d0e8743a1d0eae8743a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e874",
    "445e2f178bc5e5f43a1d0e8743b7fe826f4a0df100a5128944a251be8743a1d0e875743a1d0e8743dd0e8743a1d1ba1d",
    "0e8743a1dd0e8743a1d1ba1d0e8743a238dfe2f178bc5e2efa1d0e8743a1d800000000000edd0e8743a1d0f743a1d0e8",
    "746e8743a1d0e87743a1d0e8746e8743a1d0e8e2effaaf286bca1af28be8743a1d0e876000000000003a080100000000",
    "00001c30aed76bb5daedbe8743a1d0e875743a1d0e8743dd0e8743a1d1ba1d0e8743a1dd0e8743a1d1ba1d0e8743a3a7",
    "6fd8ec763b1d8ecb178bc5e2f176fa1d0e8743a1dbff4137a506f8dd0e8743a1d0f743a1d0e8746e8743a1d0e87743a1",
    "d0e8746e8743a1d0e8c3b1d8ec763b1d90e8743a1d0e9df43a1d0e8743a06bd744a25128944a25fffffffffffd7d0e87",
    "43a1d0edffa09bd2837c6e8743a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e8746271389c4e271396",
    "c763b1d8ec7df43a1d0e8743aba1d0e8743a1ee8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd0e8743a1d18743a1d0e87",
    "43a2fa1d0e8743a1d026b359acd66b359576bb5daed76df43a1d0e8743b000000000001dba1d0e8743a1ee8743a1d0e8",
    "dd0e8743a1d0ee8743a1d0e8dd0e8743a1d18944a25128944a48743a1d0e8757d0e8743a1d0eae8743a1d0e87ba1d0e8",
    "743a3743a1d0e8743ba1d0e8743a3743a1d0e8747569f43a1d0e8743a4763b1d8ec7637d0e8743a1d0edffa09bd2837b",
    "01bb2944a251289454976bb5daed76afa1d0e8743a1d5d0e8743a1d0f743a1d0e8746e8743a1d0e87743a1d0e8746e87",
    "43a1d0e8edcb59acd66b35992389c4e271389be8743a1d0e876ffd04de941be3743a1d0e8743dd0e8743a1d1ba1d0e87",
    "43a1dd0e8743a1d1ba1d0e8743a31d0e8743a1d0e2fa1d0e8743a1d03765389c4e2713899b73fc4e271389c4f7d0e874",
    "3a1d0eae8743a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e8747669daed76bb5daea5f359acd66b35",
    "efa1d0e8743a1d800000000000edd0e8743a1d0f743a1d0e8746e8743a1d0e87743a1d0e8746e8743a1d0e8c763b1d8e",
    "c763c5f9435e50d7946fa1d0e8743a1d026532994ca65322086bca1af286d7d0e8743a1d0edffa09bd2837b2e8743a1d",
    "0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e87462f178bc5e2f1720b359acd66b337d0e8743a1d0eae87",
    "43a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e87475ebe50d79435e50d202f178bc5e2f17d0e8743a",
    "1d0edffa09bd2837c4020a6532994ca657d0e8743a1d0eae8743a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a37",
    "43a1d0e8744414ca6532994cafa1d0e8743a1d5d0e8743a1d0f743a1d0e8746e8743a1d0e87743a1d0e8746e8743a1d0",
    "e8880bc5e2f178bc5f43a1d0e8743b000000000001d00825128944a2515f43a1d0e8743aba1d0e8743a1ee8743a1d0e8",
    "dd0e8743a1d0ee8743a1d0e8dd0e8743a1d1104a25128944a2be8743a1d0e876ffd04de941bd9743a1d0e8743dd0e874",
    "3a1d1ba1d0e8743a1dd0e8743a1d1ba1d0e8743a2202f178bc5e2f17d0e8743a1d0e8020a6532994ca657d0e8743a1d0",
    "edffa09bd2837b2e8743a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e8744414ca6532994cafa1d0e8",
    "743a1d800000000000cdd0e8743a1d0f743a1d0e8746e8743a1d0e87743a1d0e8746e8743a1d0e8880bc5e2f178bc5f4",
    "3a1d0e8743a00825128944a2515f43a1d0e8743b0000000000019ba1d0e8743a1ee8743a1d0e8dd0e8743a1d0ee8743a",
    "1d0e8dd0e8743a1d1104a25128944a2be8743a1d0e875743a1d0e8743dd0e8743a1d1ba1d0e8743a1dd0e8743a1d1ba1",
    "d0e8743a2202f178bc5e2f17d0e8743a1d0edffa09bd2837b0020a6532994ca657d0e8743a1d0eae8743a1d0e87ba1d0",
    "e8743a3743a1d0e8743ba1d0e8743a3743a1d0e8744414ca6532994cafa1d0e8743a1dbff4137a506f65d0e8743a1d0f",
    "743a1d0e8746e8743a1d0e87743a1d0e8746e8743a1d0e8880bc5e2f178bc5f43a1d0e8743b000000000001900825128",
    "944a2515f43a1d0e8743aba1d0e8743a1ee8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd0e8743a1d1104a25128944a2b",
    "e8743a1d0e8760000000000033743a1d0e8743dd0e8743a1d1ba1d0e8743a1dd0e8743a1d1ba1d0e8743a2202f178bc5",
    "e2f17d0e8743a1d0e8020a6532994ca657d0e8743a1d0edffa09bd2837b2e8743a1d0e87ba1d0e8743a3743a1d0e8743",
    "ba1d0e8743a3743a1d0e8744414ca6532994cafa1d0e8743a1d5d0e8743a1d0f743a1d0e8746e8743a1d0e87743a1d0e",
    "8746e8743a1d0e8880bc5e2f178bc5f43a1d0e8743b7fe826f4a0dec00825128944a2515f43a1d0e8743b00000000000",
    "19ba1d0e8743a1ee8743a1d0e8dd0e8743a1d0ee8743a1d0e8dd0e8743a1d1104a25128944a2be8743a1d0e875743a1d",
    "0e8743dd0e8743a1d1ba1d0e8743a1dd0e8743a1d1ba1d0e8743a2202f178bc5e2f17d0e8743a1d0ec00000000000640",
    "20a6532994ca657d0e8743a1d0eae8743a1d0e87ba1d0e8743a3743a1d0e8743ba1d0e8743a3743a1d0e8744414ca653",
    "2994cafa1d0e8743a1dbff4137a506f65d0e8743a1d0f743a1d0e8746e8743a1d0e87743a1d0e8746e8743a1d0e8880b",
    "c5e2f178bc5f43a1d0e8743a00825128944a2515f43a1d0e8743b7fe826f4a0decba1d0e8743a1ee8743a1d0e8dd0e87",
    "43a1d0ee8743a1d0e8dd0e8743a1d1104a25128944a2be8743a1d0e8760000000000033743a1d0e8743dd0e8743a1d1b",
    "a1d0e8743a1dd0e8743a1d1ba1d0e8743a20",
);

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn sp(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

fn deltas(abs: &[u64]) -> Vec<i64> {
    let mut prev = 0i64;
    abs.iter()
        .map(|&a| {
            let d = a as i64 - prev;
            prev = a as i64;
            d
        })
        .collect()
}

/// Sample i as it was sent.
fn sent(i: i64) -> (i64, Histogram) {
    sent_at(i, 1_700_000_000_000, 15_000)
}

/// Sample i of a series starting at `t0`, `step` ms apart.
fn sent_at(i: i64, t0: i64, step: i64) -> (i64, Histogram) {
    let j = if i >= 180 { i - 180 } else { i };
    let mut p: Vec<u64> = (0..5).map(|k| ((k + 1) * j + j / 3) as u64).collect();
    let ps = if i < 100 {
        vec![sp(-2, 3), sp(1, 2)]
    } else {
        p.push(if i < 180 { j - 99 } else { j + 1 } as u64);
        vec![sp(-2, 3), sp(1, 3)]
    };
    let q = [2 * j as u64];
    let z = (j / 2) as u64;
    (
        t0 + step * i,
        Histogram {
            counter_reset_hint: CounterResetHint::Unknown,
            schema: 1,
            zero_threshold: f64::powi(2.0, -128),
            zero_count: z,
            count: p.iter().sum::<u64>() + q[0] + z,
            sum: i as f64 * 1.25 + (i % 7) as f64 * 0.001,
            positive_spans: ps,
            negative_spans: vec![sp(0, 1)],
            positive_buckets: deltas(&p),
            negative_buckets: deltas(&q),
            custom_values: vec![],
        },
    )
}

/// Sample i as a chunk re-coded for the new bucket holds it: a zero in the new bucket.
fn recoded(i: i64) -> Histogram {
    let (_, mut h) = sent(i);
    if i < 100 {
        let last: i64 = h.positive_buckets.iter().sum();
        h.positive_buckets.push(-last);
        h.positive_spans = vec![sp(-2, 3), sp(1, 3)];
    }
    h
}

fn hint(index: usize) -> CounterResetHint {
    if index == 0 {
        CounterResetHint::Unknown
    } else {
        CounterResetHint::NotCounterReset
    }
}

#[test]
fn decodes_chunks_written_by_prometheus() {
    for (hex, range, header) in [
        (PROMETHEUS_CHUNK_1, 0..143, CounterResetHeader::Unknown),
        (
            PROMETHEUS_CHUNK_2,
            143..180,
            CounterResetHeader::NotCounterReset,
        ),
    ] {
        let bytes = unhex(hex);
        let mut it = HistogramIter::new(&bytes);
        assert_eq!(it.counter_reset_header(), header);
        let got: Vec<(i64, Histogram)> = it.by_ref().collect();
        assert!(!it.error);
        let want: Vec<(i64, Histogram)> = range
            .clone()
            .enumerate()
            .map(|(n, i)| {
                let h = Histogram {
                    counter_reset_hint: hint(n),
                    ..recoded(i)
                };
                (sent(i).0, h)
            })
            .collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w);
        }
        // Absolute counts are what was sent.
        let (_, last) = sent(range.end - 1);
        assert_eq!(
            got.last().map(|(_, h)| h.to_float().count),
            Some(last.count as f64)
        );
    }
}

#[test]
fn encodes_the_same_bytes_as_prometheus() {
    // Chunk 1: appending the histograms as sent re-codes at i = 100, as Prometheus did.
    let mut c = HistogramChunk::new();
    for i in 0..143 {
        let (t, h) = sent(i);
        match c.append(t, &h).expect("valid") {
            Appended::InPlace => assert_ne!(i, 100),
            Appended::Recoded => assert_eq!(i, 100),
            Appended::NewChunk(_) => panic!("cut at {i}"),
        }
    }
    assert_eq!(c.bytes(), unhex(PROMETHEUS_CHUNK_1).as_slice());
    // Chunk 2 was cut by size with the "no counter reset" header.
    let mut c = HistogramChunk::new();
    c.set_counter_reset_header(CounterResetHeader::NotCounterReset);
    for i in 143..180 {
        let (t, h) = sent(i);
        assert!(matches!(c.append(t, &h), Ok(Appended::InPlace)));
    }
    let want = unhex(PROMETHEUS_CHUNK_2);
    assert_eq!(c.bytes(), want.as_slice());
    // Reopened from Prometheus's bytes, the chunk sees the counter reset at i = 180.
    let reopened = HistogramChunk::from_bytes(&want).expect("valid");
    assert_eq!(reopened.bytes(), want.as_slice());
    let (_, reset) = sent(180);
    assert_eq!(
        reopened.appendable(&reset),
        Verdict::NewChunk(CounterResetHeader::CounterReset)
    );
}

#[test]
fn a_counter_reset_cuts_the_chunk_prometheus_cut() {
    // nh_now: i = 119…179 went into one chunk; the reset at i = 180 cut a new one.
    let t0 = 1_796_473_869_000;
    let mut c = HistogramChunk::new();
    for i in 119..180 {
        let (t, h) = sent_at(i, t0, 1000);
        assert!(matches!(c.append(t, &h), Ok(Appended::InPlace)));
    }
    let (t, h) = sent_at(180, t0, 1000);
    let Ok(Appended::NewChunk(mut cut)) = c.append(t, &h) else {
        panic!("no new chunk at the reset");
    };
    assert_eq!(cut.counter_reset_header(), CounterResetHeader::CounterReset);
    for i in 181..298 {
        let (t, h) = sent_at(i, t0, 1000);
        assert!(matches!(cut.append(t, &h), Ok(Appended::InPlace)));
    }
    assert_eq!(cut.bytes(), unhex(PROMETHEUS_RESET_CHUNK).as_slice());
    let decoded: Vec<_> = HistogramIter::new(cut.bytes()).collect();
    assert_eq!(decoded[0].1.counter_reset_hint, CounterResetHint::Unknown);
    assert_eq!(decoded[0].1.count, sent_at(180, t0, 1000).1.count);
}

#[test]
fn float_gauge_chunk_from_prometheus_round_trips() {
    let bytes = unhex(PROMETHEUS_FLOAT_CHUNK);
    let mut it = FloatHistogramIter::new(&bytes);
    assert_eq!(it.counter_reset_header(), CounterResetHeader::Gauge);
    let got: Vec<_> = it.by_ref().collect();
    assert!(!it.error);
    assert_eq!(got.len(), 118);
    let mut prev_t = i64::MIN;
    for (t, h) in &got {
        assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
        assert_eq!((h.schema, h.zero_threshold), (1, f64::powi(2.0, -128)));
        // A rate over 20 s of counts rising by a few dozen a second.
        assert!(h.count > 0.0 && h.count < 100.0, "{h:?}");
        let buckets: f64 = h.positive_buckets.iter().chain(&h.negative_buckets).sum();
        assert!((buckets + h.zero_count - h.count).abs() < 1e-9 * h.count.max(1.0));
        assert!(*t > prev_t);
        prev_t = *t;
    }
    // Appending the decoded histograms gives Prometheus's bytes again.
    let mut c = FloatHistogramChunk::new();
    for (t, h) in &got {
        assert!(matches!(c.append(*t, h), Ok(Appended::InPlace)));
    }
    assert_eq!(c.bytes(), bytes.as_slice());
    let resumed = FloatHistogramChunk::from_bytes(&bytes).expect("valid");
    assert_eq!(resumed.bytes(), bytes.as_slice());
}
