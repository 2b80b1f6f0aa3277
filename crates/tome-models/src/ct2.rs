//! A reader of CTranslate2's `model.bin` (binary versions 2–6): the named variables —
//! tensors and scalars — and aliases, as candle tensors. Whisper models that can be
//! installed here ship only in this format; `whisper.rs` maps the variables onto candle's
//! Whisper. Written by hand because no crate reads the format (it is ≈100 lines).
//!
//! Layout (little-endian): version u32; spec name (u16 length, bytes with a trailing NUL)
//! and spec revision u32 from version 2; variable count u32; per variable: name, rank u8,
//! dims u32 × rank, dtype u8 (version ≥ 4; before, an item size), byte count u32, bytes;
//! from version 3, an alias count u32 and (alias, target) name pairs.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

/// One stored variable.
pub struct Variable {
    pub dims: Vec<usize>,
    pub dtype: u8,
    pub bytes: Vec<u8>,
}

/// The variables of a model file, aliases resolved on lookup.
pub struct Ct2File {
    pub spec: String,
    variables: HashMap<String, Variable>,
    aliases: HashMap<String, String>,
}

// CTranslate2's DataType ids.
const FLOAT32: u8 = 0;
const INT8: u8 = 1;
const INT16: u8 = 2;
const INT32: u8 = 3;
const FLOAT16: u8 = 4;
const BFLOAT16: u8 = 5;

struct Reader<R> {
    inner: R,
}

impl<R: Read> Reader<R> {
    fn bytes(&mut self, count: usize) -> Result<Vec<u8>, String> {
        let mut buffer = vec![0; count];
        self.inner.read_exact(&mut buffer).map_err(|error| format!("the file ends early: {error}"))?;
        Ok(buffer)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let bytes = self.bytes(2)?;
        Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let bytes = self.bytes(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn string(&mut self) -> Result<String, String> {
        let length = self.u16()? as usize;
        let bytes = self.bytes(length)?;
        let text = String::from_utf8(bytes).map_err(|_| "a name is not UTF-8".to_owned())?;
        Ok(text.trim_end_matches('\0').to_owned())
    }
}

impl Ct2File {
    pub fn open(path: &Path) -> Result<Self, String> {
        let file = std::fs::File::open(path).map_err(|error| format!("{}: {error}", path.display()))?;
        Self::read(std::io::BufReader::new(file))
    }

    pub fn read(source: impl Read) -> Result<Self, String> {
        let mut reader = Reader { inner: source };
        let version = reader.u32()?;
        if !(2..=6).contains(&version) {
            return Err(format!("not a CTranslate2 model (binary version {version}; 2–6 are read)"));
        }
        let spec = reader.string()?;
        let _revision = reader.u32()?;
        let count = reader.u32()?;
        let mut variables = HashMap::with_capacity(count as usize);
        for _ in 0..count {
            let name = reader.string()?;
            let rank = reader.u8()? as usize;
            let dims = (0..rank).map(|_| reader.u32().map(|d| d as usize)).collect::<Result<Vec<_>, _>>()?;
            let dtype = if version >= 4 {
                reader.u8()?
            } else {
                match reader.u8()? {
                    4 => FLOAT32,
                    2 => INT16,
                    _ => INT8,
                }
            };
            let size = reader.u32()? as usize;
            let elements: usize = dims.iter().product();
            let width = match dtype {
                FLOAT32 | INT32 => 4,
                INT16 | FLOAT16 | BFLOAT16 => 2,
                INT8 => 1,
                other => return Err(format!("{name}: unknown data type {other}")),
            };
            if size != elements * width {
                return Err(format!("{name}: {size} bytes for {elements} elements of {width} bytes"));
            }
            let bytes = reader.bytes(size)?;
            variables.insert(name, Variable { dims, dtype, bytes });
        }
        let mut aliases = HashMap::new();
        if version >= 3 {
            let count = reader.u32()?;
            for _ in 0..count {
                let alias = reader.string()?;
                let target = reader.string()?;
                aliases.insert(alias, target);
            }
        }
        Ok(Self { spec, variables, aliases })
    }

    pub fn get(&self, name: &str) -> Option<&Variable> {
        self.variables.get(name).or_else(|| self.aliases.get(name).and_then(|target| self.variables.get(target)))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.variables.keys().map(String::as_str)
    }

    /// A tensor variable as f32 on the CPU.
    pub fn tensor(&self, name: &str) -> Result<Tensor, String> {
        let variable = self.get(name).ok_or_else(|| format!("the model has no {name}"))?;
        let dims = if variable.dims.is_empty() { vec![1] } else { variable.dims.clone() };
        let source = match variable.dtype {
            FLOAT32 => Tensor::from_raw_buffer(&variable.bytes, DType::F32, &dims, &Device::Cpu),
            FLOAT16 => Tensor::from_raw_buffer(&variable.bytes, DType::F16, &dims, &Device::Cpu),
            BFLOAT16 => Tensor::from_raw_buffer(&variable.bytes, DType::BF16, &dims, &Device::Cpu),
            other => {
                return Err(format!("{name}: data type {other} is not a float tensor (quantized models are not read)"));
            }
        };
        source.and_then(|tensor| tensor.to_dtype(DType::F32)).map_err(|error| format!("{name}: {error}"))
    }

    /// A scalar integer variable (e.g. `encoder/num_heads`).
    pub fn integer(&self, name: &str) -> Result<i64, String> {
        let variable = self.get(name).ok_or_else(|| format!("the model has no {name}"))?;
        let bytes = &variable.bytes;
        Ok(match (variable.dtype, bytes.len()) {
            (INT8, 1) => i64::from(bytes[0] as i8),
            (INT16, 2) => i64::from(i16::from_le_bytes([bytes[0], bytes[1]])),
            (INT32, 4) => i64::from(i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
            _ => return Err(format!("{name} is not an integer scalar")),
        })
    }
}
